// Scenes reach a page from several senders (each publish of the server, a state.full on request or
// reconnect), and a late one can arrive after a newer one. The server stamps each with the version of
// its read (apps/studio/scene.py scene_snapshot): keep the newest, never go back to an older scene.
// `holder` remembers the newest version seen; true when `msg` is at least as new.
export function newestScene(holder, msg) {
  const version = msg.scene_version;
  if (typeof version !== "number") return true; // a sender without versions: take it as it comes
  if (typeof holder.sceneVersion === "number" && version < holder.sceneVersion) return false;
  holder.sceneVersion = version;
  return true;
}
