// bench-guests: N synthetic LiveKit guests that publish pre-encoded media.
//
// Each guest sends three VP8 simulcast layers read from IVF files and an Opus track read
// from an Ogg file, paced in real time, so a benchmark gets 720p simulcast guests without
// paying for live encoding on the machine under test. See README.md.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"

	protoLogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		cfg     connectConfig
		dir     string
		nGuests int
		fps     int
		logPath string
	)
	flag.StringVar(&cfg.url, "url", "", "LiveKit server URL, e.g. ws://127.0.0.1:7880")
	flag.StringVar(&cfg.apiKey, "api-key", "", "API key the guests' tokens are signed for")
	flag.StringVar(&cfg.apiSecret, "api-secret", "", "API secret (or set LIVEKIT_API_SECRET, which stays out of `ps`)")
	flag.StringVar(&cfg.room, "room", "", "room to join")
	flag.StringVar(&dir, "media", "", "directory holding guest-<i>/{h720,h360,h180}.ivf and audio.ogg")
	flag.IntVar(&nGuests, "guests", 10, "number of guests")
	flag.IntVar(&fps, "fps", 30, "video frames per second")
	flag.StringVar(&logPath, "log", "", "file receiving one line per frame written: <guest> <frame-in-file> <unix-ms>")
	flag.Parse()
	if cfg.apiSecret == "" {
		cfg.apiSecret = os.Getenv("LIVEKIT_API_SECRET")
	}
	if cfg.url == "" || cfg.apiKey == "" || cfg.apiSecret == "" || cfg.room == "" || dir == "" || logPath == "" ||
		nGuests < 1 || fps < 1 {
		fmt.Fprintln(os.Stderr, "bench-guests: --url, --api-key, --api-secret, --room, --media, --log are required; --guests and --fps must be positive")
		flag.Usage()
		return 2
	}

	// The SDK's default logger prints every negotiation step; keep warnings only
	// (BENCH_GUESTS_LOG=info shows dynacast layer updates and the like).
	level := os.Getenv("BENCH_GUESTS_LOG")
	if level == "" {
		level = "warn"
	}
	// pion's ICE and SCTP warnings (STUN at 127.0.0.1:3478 unanswered, closed conns at exit) are noise here.
	conf := &protoLogger.Config{Level: level, ComponentLevels: map[string]string{"pion": "error"}}
	if l, err := protoLogger.NewZapLogger(conf); err == nil {
		lksdk.SetLogger(l)
	}

	if path := os.Getenv("BENCH_GUESTS_CPUPROFILE"); path != "" {
		// Where the publisher's own CPU goes (go tool pprof -top bench-guests FILE).
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}

	interval := time.Second / time.Duration(fps)
	guests := make([]*guest, nGuests)
	for i := range guests {
		m, err := loadGuestMedia(filepath.Join(dir, fmt.Sprintf("guest-%d", i)), fps)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-guests:", err)
			return 1
		}
		guests[i] = &guest{index: i, media: m}
	}

	logFile, err := os.Create(logPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-guests:", err)
		return 1
	}
	frames := newFrameLog(logFile)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var senders sync.WaitGroup
	epoch := time.Now()
	errs := make(chan error, nGuests)
	var connecting sync.WaitGroup
	for i, g := range guests {
		connecting.Add(1)
		go func() {
			defer connecting.Done()
			if err := g.connect(cfg, fps, ctx.Done()); err != nil {
				errs <- err
				return
			}
			// Start on frame 0 (a keyframe) at the next instant of this guest's phase: guests
			// are spread evenly over one frame interval so their bursts do not coincide.
			phase := interval * time.Duration(i) / time.Duration(nGuests)
			start := nextPhase(epoch, time.Now(), interval, phase)
			senders.Add(2)
			go func() { defer senders.Done(); g.sendVideo(ctx, start, fps, frames) }()
			go func() { defer senders.Done(); g.sendAudio(ctx, start) }()
		}()
	}
	connecting.Wait()
	close(errs)
	status := 0
	for err := range errs {
		fmt.Fprintln(os.Stderr, "bench-guests:", err)
		status = 1
	}

	if status == 0 {
		fmt.Println("ready") // os.Stdout is unbuffered: the reader sees it now
		waitForEnd()
	}

	cancel()
	senders.Wait()
	for _, g := range guests {
		if g.room != nil && len(g.feeds) == len(g.media.layers) {
			sent := g.acknowledged()
			fmt.Fprintf(os.Stderr, "%s: RTP packets the SFU acknowledged low=%d medium=%d high=%d, keyframe requests (PLI/FIR) "+
				"low=%d medium=%d high=%d, frames dropped=%d, audio write errors=%d\n", g.identity(),
				sent[0], sent[1], sent[2], g.plis[0].Load(), g.plis[1].Load(), g.plis[2].Load(),
				g.feeds[0].dropped.Load()+g.feeds[1].dropped.Load()+g.feeds[2].dropped.Load(), g.writeErrors.Load())
		}
	}
	var leaving sync.WaitGroup
	for _, g := range guests {
		leaving.Add(1)
		go func() { defer leaving.Done(); g.disconnect() }()
	}
	leaving.Wait()
	if err := frames.close(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-guests: log:", err)
		status = 1
	}
	return status
}

// waitForEnd returns when stdin is closed (the harness's way to stop us) or on SIGINT/SIGTERM.
func waitForEnd() {
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-stdinClosed:
	case <-signals:
	}
}

// nextPhase is the first instant at or after now that lies `phase` past a multiple of
// `interval` from epoch.
func nextPhase(epoch, now time.Time, interval, phase time.Duration) time.Time {
	elapsed := now.Sub(epoch) - phase
	n := (elapsed + interval - 1) / interval
	if n < 0 {
		n = 0
	}
	return epoch.Add(phase + n*interval)
}

// frameLog buffers "<guest> <frame> <unix-ms>" lines; flushed every second and at close.
type frameLog struct {
	mu   sync.Mutex
	file *os.File
	w    *bufio.Writer
	line []byte
	stop chan struct{}
	done chan struct{}
}

func newFrameLog(f *os.File) *frameLog {
	l := &frameLog{file: f, w: bufio.NewWriterSize(f, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
				l.mu.Lock()
				_ = l.w.Flush()
				l.mu.Unlock()
			}
		}
	}()
	return l
}

func (l *frameLog) add(guest, frame int, unixMs int64) {
	l.mu.Lock()
	b := strconv.AppendInt(l.line[:0], int64(guest), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(frame), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, unixMs, 10)
	b = append(b, '\n')
	_, _ = l.w.Write(b)
	l.line = b
	l.mu.Unlock()
}

func (l *frameLog) close() error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.w.Flush(); err != nil {
		return err
	}
	return l.file.Close()
}
