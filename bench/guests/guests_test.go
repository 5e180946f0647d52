package main

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestSampleDurationGivesExactRTPTicks(t *testing.T) {
	for _, c := range []struct {
		clock  int
		period time.Duration
		ticks  uint32
	}{
		{90000, time.Second / 30, 3000},
		{90000, time.Second / 25, 3600},
		{90000, time.Second / 60, 1500},
		{90000, time.Second / 24, 3750},
		{48000, 20 * time.Millisecond, 960},
	} {
		d := sampleDuration(c.clock, c.period)
		// The SDK's conversion (LocalTrack.WriteSample).
		if got := uint32(d.Seconds() * float64(c.clock)); got != c.ticks {
			t.Errorf("sampleDuration(%d, %v) = %v: %d ticks, want %d", c.clock, c.period, d, got, c.ticks)
		}
		if diff := d - c.period; diff < -time.Microsecond || diff > time.Microsecond {
			t.Errorf("sampleDuration(%d, %v) = %v: too far from the period", c.clock, c.period, d)
		}
	}
}

func TestNextPhase(t *testing.T) {
	epoch := time.Now()
	interval := time.Second / 30
	phase := interval * 3 / 10
	for _, after := range []time.Duration{0, time.Millisecond, interval, 5*interval + 7*time.Millisecond} {
		got := nextPhase(epoch, epoch.Add(after), interval, phase)
		offset := got.Sub(epoch)
		if got.Before(epoch.Add(after)) || offset-interval >= after || (offset-phase)%interval != 0 {
			t.Errorf("after %v: start %v past epoch", after, offset)
		}
	}
}

func TestOpusDuration(t *testing.T) {
	for _, c := range []struct {
		packet []byte
		want   time.Duration
	}{
		{[]byte{31<<3 | 0}, 20 * time.Millisecond}, // CELT FB 20 ms, one frame
		{[]byte{29<<3 | 0}, 5 * time.Millisecond},  // CELT FB 5 ms
		{[]byte{31<<3 | 1}, 40 * time.Millisecond}, // two 20 ms frames
		{[]byte{1<<3 | 0}, 20 * time.Millisecond},  // SILK NB 20 ms
		{[]byte{15<<3 | 3, 3}, 60 * time.Millisecond},
	} {
		if got := opusDuration(c.packet); got != c.want {
			t.Errorf("opusDuration(%08b) = %v, want %v", c.packet[0], got, c.want)
		}
	}
}

// The real files, as the benchmark encodes them: three layers, keyframe first, Ogg pages of
// many packets (ffmpeg's default page length is a second), all loaded and split correctly.
func TestLoadGuestMedia(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is needed to make the test media")
	}
	dir := t.TempDir()
	ffmpeg := func(args ...string) {
		cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	for name, size := range map[string]string{"h720": "1280x720", "h360": "640x360", "h180": "320x180"} {
		ffmpeg("-f", "lavfi", "-i", "testsrc2=s="+size+":r=30:d=2", "-c:v", "libvpx", "-deadline", "realtime",
			"-cpu-used", "8", "-b:v", "300k", "-g", "30", "-auto-alt-ref", "0", filepath.Join(dir, name+".ivf"))
	}
	ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-c:a", "libopus",
		"-frame_duration", "20", filepath.Join(dir, "audio.ogg"))

	m, err := loadGuestMedia(dir, 30)
	if err != nil {
		t.Fatal(err)
	}
	if m.frames != 60 {
		t.Errorf("frames = %d, want 60", m.frames)
	}
	widths := []int{m.layers[0].width, m.layers[1].width, m.layers[2].width}
	if widths[0] != 320 || widths[1] != 640 || widths[2] != 1280 {
		t.Errorf("layer widths %v, want low to high", widths)
	}
	for _, layer := range m.layers {
		if layer.bitrate == 0 || !isVP8Keyframe(layer.frames[0]) || isVP8Keyframe(layer.frames[1]) {
			t.Errorf("%s: bitrate %d, key frame 0 %v, key frame 1 %v", layer.path, layer.bitrate,
				isVP8Keyframe(layer.frames[0]), isVP8Keyframe(layer.frames[1]))
		}
	}
	// 2 s of 20 ms packets; libopus may add one for its pre-skip.
	if n := len(m.audio); math.Abs(float64(n)-100) > 2 {
		t.Errorf("audio packets = %d, want about 100", n)
	}

	if err := os.Remove(filepath.Join(dir, "h360.ivf")); err != nil {
		t.Fatal(err)
	}
	if _, err := loadGuestMedia(dir, 30); err == nil {
		t.Error("a missing layer was accepted")
	}
}
