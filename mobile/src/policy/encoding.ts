/**
 * Which video codec the phone publishes with, so that the platform's hardware encoder does
 * the work.
 *
 * How it is selected: LiveKit negotiates the codec we name in the publish options
 * (`videoCodec`). @livekit/react-native-webrtc builds libwebrtc with the platforms' default
 * encoder factories: on iOS, RTCDefaultVideoEncoderFactory, whose H.264 encoder is
 * VideoToolbox (hardware); on Android, DefaultVideoEncoderFactory, whose H.264 encoder is
 * MediaCodec (HardwareVideoEncoderFactory; Android's libwebrtc has no software H.264). So
 * naming H.264 on a phone means hardware encoding; VP8 would be libvpx on the CPU. VP8 stays
 * as the backup codec for the rare phone without an H.264 encoder, and for subscribers
 * that cannot decode H.264 (LiveKit then asks this publisher for a VP8 simulcast too).
 *
 * In a browser (the web build) the browser picks its own encoders; VP8 is what every
 * browser and the server's compositor handle alike, unless the browser says its H.264
 * encoder is power efficient (MediaCapabilities, i.e. hardware).
 */

export type VideoCodec = 'h264' | 'vp8';

export interface EncoderChoice {
  codec: VideoCodec;
  /** Published as well when a subscriber cannot take `codec` (LiveKit's backup codec). */
  backupCodec: VideoCodec | null;
  /** True when `codec` runs on the platform's hardware encoder. */
  hardware: boolean;
}

export interface EncoderInput {
  os: string;
  /** Web only: MediaCapabilities said H.264 encoding is powerEfficient (hardware). */
  browserH264PowerEfficient?: boolean;
}

export function chooseEncoder({ os, browserH264PowerEfficient = false }: EncoderInput): EncoderChoice {
  if (os === 'ios' || os === 'android') {
    return { codec: 'h264', backupCodec: 'vp8', hardware: true };
  }
  if (browserH264PowerEfficient) {
    return { codec: 'h264', backupCodec: 'vp8', hardware: true };
  }
  return { codec: 'vp8', backupCodec: null, hardware: false };
}
