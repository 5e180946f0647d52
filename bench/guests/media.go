package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// layerFiles are the simulcast layers a guest directory holds, highest first.
var layerFiles = []string{"h720.ivf", "h360.ivf", "h180.ivf"}

// opusPacketDuration is the only packet length we pace audio at (what WebRTC sends and
// what `ffmpeg -c:a libopus -frame_duration 20` writes).
const opusPacketDuration = 20 * time.Millisecond

// videoLayer is one pre-encoded VP8 layer, held in memory so the send loop never touches the disk.
type videoLayer struct {
	path    string
	width   int
	height  int
	frames  [][]byte
	bitrate uint32 // bits per second at the nominal frame rate, announced to the SFU
}

// guestMedia is everything one guest sends, loaded once at start.
type guestMedia struct {
	layers []*videoLayer // sorted by width, lowest first
	frames int           // frames per loop: the same in every layer
	audio  [][]byte      // Opus packets, 20 ms each
}

func loadGuestMedia(dir string, fps int) (*guestMedia, error) {
	m := &guestMedia{}
	for _, name := range layerFiles {
		layer, err := loadIVF(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		m.layers = append(m.layers, layer)
	}
	sort.Slice(m.layers, func(i, j int) bool { return m.layers[i].width < m.layers[j].width })
	m.frames = len(m.layers[0].frames)
	for _, layer := range m.layers {
		if len(layer.frames) != m.frames {
			// Frame k must be the same picture in every layer, or layer switches jump in time.
			return nil, fmt.Errorf("%s has %d frames, %s has %d: layers must have the same frame count",
				layer.path, len(layer.frames), m.layers[0].path, m.frames)
		}
		if !isVP8Keyframe(layer.frames[0]) {
			// We loop back to frame 0: a receiver joining there must be able to decode it.
			return nil, fmt.Errorf("%s does not start with a VP8 keyframe", layer.path)
		}
		var total int
		for _, frame := range layer.frames {
			total += len(frame)
		}
		layer.bitrate = uint32(int64(total) * 8 * int64(fps) / int64(len(layer.frames)))
	}
	audio, err := loadOggOpus(filepath.Join(dir, "audio.ogg"))
	if err != nil {
		return nil, err
	}
	m.audio = audio
	return m, nil
}

func loadIVF(path string) (*videoLayer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reader, header, err := ivfreader.NewWith(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if string(header.FourCC[:]) != "VP80" {
		return nil, fmt.Errorf("%s: codec %q, want VP80", path, string(header.FourCC[:]))
	}
	layer := &videoLayer{path: path, width: int(header.Width), height: int(header.Height)}
	for {
		frame, _, err := reader.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: frame %d: %w", path, len(layer.frames), err)
		}
		layer.frames = append(layer.frames, frame)
	}
	if len(layer.frames) == 0 {
		return nil, fmt.Errorf("%s: no frames", path)
	}
	return layer, nil
}

// isVP8Keyframe reads the frame tag: bit 0 of the first byte is 0 on a key frame (RFC 6386 9.1).
func isVP8Keyframe(frame []byte) bool {
	return len(frame) > 0 && frame[0]&0x01 == 0
}

// loadOggOpus returns the Opus audio packets of an Ogg file (RFC 7845), header packets dropped.
//
// pion's oggreader returns whole pages, and ffmpeg puts up to a second of packets in one
// page, so we split pages into packets with the lacing values ourselves.
func loadOggOpus(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var packets [][]byte
	var partial []byte
	header := make([]byte, 27)
	for {
		if _, err := io.ReadFull(r, header); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: page header: %w", path, err)
		}
		if string(header[:4]) != "OggS" {
			return nil, fmt.Errorf("%s: not an Ogg page", path)
		}
		lacing := make([]byte, header[26])
		if _, err := io.ReadFull(r, lacing); err != nil {
			return nil, fmt.Errorf("%s: segment table: %w", path, err)
		}
		for _, size := range lacing {
			segment := make([]byte, size)
			if _, err := io.ReadFull(r, segment); err != nil {
				return nil, fmt.Errorf("%s: segment: %w", path, err)
			}
			partial = append(partial, segment...)
			if size < 255 { // a lacing value below 255 ends the packet; 255 continues it
				packets = append(packets, partial)
				partial = nil
			}
		}
	}
	if len(packets) < 3 {
		return nil, fmt.Errorf("%s: no Opus audio packets", path)
	}
	if string(packets[0][:min(8, len(packets[0]))]) != "OpusHead" {
		return nil, fmt.Errorf("%s: not an Ogg Opus file", path)
	}
	audio := packets[2:] // OpusHead and OpusTags
	for i, packet := range audio {
		if d := opusDuration(packet); d != opusPacketDuration {
			return nil, fmt.Errorf("%s: packet %d lasts %v, want %v (encode with -frame_duration 20)",
				path, i, d, opusPacketDuration)
		}
	}
	return audio, nil
}

// opusDuration is the audio length of one Opus packet, from its TOC byte (RFC 6716 3.1).
func opusDuration(packet []byte) time.Duration {
	if len(packet) == 0 {
		return 0
	}
	toc := packet[0]
	config := toc >> 3
	var frame time.Duration
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		frame = []time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16: // hybrid: 10, 20 ms
		frame = []time.Duration{10, 20}[config%2] * time.Millisecond
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = []time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
	switch toc & 0x03 {
	case 0:
		return frame
	case 1, 2:
		return 2 * frame
	default:
		if len(packet) < 2 {
			return 0
		}
		return time.Duration(packet[1]&0x3f) * frame
	}
}
