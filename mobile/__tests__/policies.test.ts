import { publishFor } from '@/policy/background';
import { P180, P360, P540, P720, atFrameRate, capturePlan, deviceClass } from '@/policy/capture';
import { chooseEncoder } from '@/policy/encoding';
import { mediaPlan } from '@/policy';
import { frameRate } from '@/policy/power';
import { shouldKeepAwake } from '@/policy/wake';

const GIB = 1024 ** 3;

describe('encoding: hardware H.264 on phones', () => {
  it.each(['ios', 'android'])('%s publishes H.264 (VideoToolbox / MediaCodec) with a VP8 backup', (os) => {
    expect(chooseEncoder({ os })).toEqual({ codec: 'h264', backupCodec: 'vp8', hardware: true });
  });
  it('a browser sends VP8 unless its H.264 encoder is power efficient', () => {
    expect(chooseEncoder({ os: 'web' })).toEqual({ codec: 'vp8', backupCodec: null, hardware: false });
    expect(chooseEncoder({ os: 'web', browserH264PowerEfficient: true }).codec).toBe('h264');
  });
});

describe('capture: resolution by device class and network', () => {
  it('classes devices by year and memory', () => {
    expect(deviceClass({ yearClass: 2022, totalMemory: 8 * GIB })).toBe('high');
    expect(deviceClass({ yearClass: 2017, totalMemory: 3 * GIB })).toBe('mid');
    expect(deviceClass({ yearClass: 2014, totalMemory: 2 * GIB })).toBe('low');
    expect(deviceClass({ yearClass: 2022, totalMemory: 1.5 * GIB })).toBe('low');
    expect(deviceClass({ yearClass: null, totalMemory: null })).toBe('mid');
    expect(deviceClass({ yearClass: null, totalMemory: 8 * GIB })).toBe('high');
  });
  it('720p on a capable phone on Wi-Fi, with 180p and 360p simulcast layers', () => {
    expect(capturePlan({ device: 'high', network: 'wifi' })).toEqual({ top: P720, simulcast: [P180, P360] });
  });
  it('540p on cellular or on a mid-range phone', () => {
    expect(capturePlan({ device: 'high', network: 'cellular' }).top).toBe(P540);
    expect(capturePlan({ device: 'mid', network: 'wifi' })).toEqual({ top: P540, simulcast: [P180, P360] });
  });
  it('360p with one 180p layer on a low-end phone or a slow link', () => {
    expect(capturePlan({ device: 'low', network: 'wifi' })).toEqual({ top: P360, simulcast: [P180] });
    expect(capturePlan({ device: 'high', network: 'wifi', slowLink: true }).top).toBe(P360);
  });
  it('scales bitrate with a lower frame rate and never raises a layer above its own', () => {
    const plan = atFrameRate(capturePlan({ device: 'high', network: 'wifi' }), 15);
    expect(plan.top).toEqual({ ...P720, fps: 15, maxBitrate: P720.maxBitrate / 2 });
    expect(plan.simulcast[0]).toEqual(P180); // already 15 fps
  });
});

describe('power: frame rate by battery', () => {
  it('30 fps normally, 15 when low or in low-power mode, 10 when critical', () => {
    expect(frameRate({ level: 0.8, charging: false, lowPowerMode: false })).toBe(30);
    expect(frameRate({ level: 0.2, charging: false, lowPowerMode: false })).toBe(15);
    expect(frameRate({ level: 0.8, charging: false, lowPowerMode: true })).toBe(15);
    expect(frameRate({ level: 0.05, charging: false, lowPowerMode: false })).toBe(10);
  });
  it('charging lifts the limit; an unknown level is not low', () => {
    expect(frameRate({ level: 0.05, charging: true, lowPowerMode: true })).toBe(30);
    expect(frameRate({ level: -1, charging: false, lowPowerMode: false })).toBe(30);
    expect(frameRate({ level: null, charging: false, lowPowerMode: false })).toBe(30);
  });
});

describe('background: audio only', () => {
  const both = { camera: true, microphone: true };
  it('drops the camera in the background and keeps the microphone', () => {
    expect(publishFor('background', both)).toEqual({ camera: false, microphone: true });
    expect(publishFor('inactive', both)).toEqual({ camera: false, microphone: true });
  });
  it('brings the camera back when active, unless it was turned off', () => {
    expect(publishFor('active', both)).toEqual(both);
    expect(publishFor('active', { camera: false, microphone: true })).toEqual({ camera: false, microphone: true });
  });
});

describe('wake: keep the screen on while on stage', () => {
  it('on stage and connected, or hosting a live show', () => {
    expect(shouldKeepAwake({ onStage: true, connected: true })).toBe(true);
    expect(shouldKeepAwake({ onStage: false, connected: true })).toBe(false);
    expect(shouldKeepAwake({ onStage: true, connected: false })).toBe(false);
    expect(shouldKeepAwake({ onStage: false, connected: true, hostOfLiveShow: true })).toBe(true);
  });
});

describe('mediaPlan: the policies together', () => {
  it('a low-battery phone in the background on cellular', () => {
    const plan = mediaPlan({
      os: 'android',
      device: { yearClass: 2021, totalMemory: 8 * GIB },
      network: 'cellular',
      power: { level: 0.15, charging: false, lowPowerMode: false },
      appState: 'background',
      wish: { camera: true, microphone: true },
      onStage: true,
      connected: true,
    });
    expect(plan.encoder.codec).toBe('h264');
    expect(plan.capture.top).toMatchObject({ width: 960, height: 540, fps: 15 });
    expect(plan.publish).toEqual({ camera: false, microphone: true });
    expect(plan.keepAwake).toBe(true);
  });
});
