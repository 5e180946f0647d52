/** Names for the generated schema's shapes the app passes around (schema.d.ts is generated). */
import type { components } from './schema';

type Schemas = components['schemas'];

export type Guest = Schemas['GuestOutput'];
export type JoinInfo = Schemas['Join'];
/** A LiveKit room grant: the server's URL, a short-lived token, who we are, which room. */
export type RtcGrant = Schemas['RoomAccess'];
export type Stream = Schemas['StreamOutput'];
