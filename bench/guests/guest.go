package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// bindTimeout bounds how long a guest may take from join to media flowing (ICE + DTLS on loopback).
const bindTimeout = 30 * time.Second

var qualities = []livekit.VideoQuality{livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH}

// guest is one synthetic participant sending its pre-encoded files.
type guest struct {
	index int
	media *guestMedia
	room  *lksdk.Room
	video []*lksdk.LocalTrack // aligned with media.layers: low, medium, high
	feeds []*layerFeed        // idem: what sendVideo hands each layer's SDK write loop
	audio *lksdk.LocalTrack

	// Keyframe requests the SFU sent per layer: we cannot encode one, the files' GOP bounds the wait.
	plis [3]atomic.Int64
	// Per layer, the first and latest extended sequence number the SFU's receiver reports
	// acknowledged: how many packets of each layer reached it, so paused layers show.
	rrFirst, rrLast [3]atomic.Int64
	writeErrors     atomic.Int64
}

type connectConfig struct {
	url, apiKey, apiSecret, room string
}

func (g *guest) identity() string { return fmt.Sprintf("guest-%d", g.index) }

func (g *guest) token(cfg connectConfig) (string, error) {
	yes := true
	grant := &auth.VideoGrant{RoomJoin: true, Room: cfg.room, CanPublish: &yes, CanSubscribe: &yes}
	return auth.NewAccessToken(cfg.apiKey, cfg.apiSecret).
		SetIdentity(g.identity()).
		SetName(g.identity()).
		SetVideoGrant(grant).
		SetValidFor(24 * time.Hour).
		ToJWT()
}

// connect joins the room, publishes the simulcast camera and the microphone, and returns once
// every track is bound to the publisher PeerConnection (so written samples actually leave).
func (g *guest) connect(cfg connectConfig, fps int, done <-chan struct{}) error {
	token, err := g.token(cfg)
	if err != nil {
		return err
	}
	cb := lksdk.NewRoomCallback()
	cb.OnDisconnectedWithReason = func(reason lksdk.DisconnectionReason) {
		fmt.Fprintf(os.Stderr, "%s: disconnected (%v)\n", g.identity(), reason)
	}
	g.room = lksdk.NewRoom(cb)
	if err := g.room.JoinWithToken(cfg.url, token, lksdk.WithAutoSubscribe(false)); err != nil {
		return fmt.Errorf("%s: join: %w", g.identity(), err)
	}

	var bound sync.WaitGroup
	onBind := func(t *lksdk.LocalTrack) {
		var once sync.Once
		bound.Add(1)
		t.OnBind(func() { once.Do(bound.Done) })
	}

	simulcastID := g.identity() + "-camera"
	for i, layer := range g.media.layers {
		q := i
		track, err := lksdk.NewLocalTrack(
			webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			lksdk.WithSimulcast(simulcastID, &livekit.VideoLayer{
				Quality: qualities[i],
				Width:   uint32(layer.width),
				Height:  uint32(layer.height),
				Bitrate: layer.bitrate,
			}),
			lksdk.WithRTCPHandler(func(p rtcp.Packet) {
				switch p := p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					g.plis[q].Add(1)
				case *rtcp.ReceiverReport:
					for _, r := range p.Reports {
						if r.SSRC == uint32(g.video[q].SSRC()) {
							g.rrFirst[q].CompareAndSwap(0, int64(r.LastSequenceNumber))
							g.rrLast[q].Store(int64(r.LastSequenceNumber))
						}
					}
				}
			}),
		)
		if err != nil {
			return err
		}
		onBind(track)
		feed := &layerFeed{
			queue:    make(chan []byte, fps), // a second of slack
			duration: sampleDuration(90000, time.Second/time.Duration(fps)),
			done:     done,
		}
		if err := track.StartWrite(feed, nil); err != nil {
			return err
		}
		g.video = append(g.video, track)
		g.feeds = append(g.feeds, feed)
	}
	high := g.media.layers[len(g.media.layers)-1]
	if _, err := g.room.LocalParticipant.PublishSimulcastTrack(g.video, &lksdk.TrackPublicationOptions{
		Name:        "camera",
		Source:      livekit.TrackSource_CAMERA,
		VideoWidth:  high.width,
		VideoHeight: high.height,
	}); err != nil {
		return fmt.Errorf("%s: publish camera: %w", g.identity(), err)
	}

	g.audio, err = lksdk.NewLocalTrack(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
	})
	if err != nil {
		return err
	}
	onBind(g.audio)
	if _, err := g.room.LocalParticipant.PublishTrack(g.audio, &lksdk.TrackPublicationOptions{
		Name:   "microphone",
		Source: livekit.TrackSource_MICROPHONE,
	}); err != nil {
		return fmt.Errorf("%s: publish microphone: %w", g.identity(), err)
	}

	allBound := make(chan struct{})
	go func() { bound.Wait(); close(allBound) }()
	select {
	case <-allBound:
		return nil
	case <-time.After(bindTimeout):
		return fmt.Errorf("%s: tracks not bound within %v (publisher PeerConnection never connected)", g.identity(), bindTimeout)
	}
}

// sendVideo hands frame k of every layer to its write loop at start + k/fps until ctx ends. The
// schedule is absolute, so a late wake-up does not shift later frames.
func (g *guest) sendVideo(ctx context.Context, start time.Time, fps int, log *frameLog) {
	timer := time.NewTimer(time.Until(start))
	defer timer.Stop()
	frames := g.media.frames
	for k := int64(0); ; k++ {
		due := start.Add(time.Duration(k) * time.Second / time.Duration(fps)) // exact: no rounding carried over
		if !waitUntil(ctx, timer, due) {
			return
		}
		idx := int(k % int64(frames))
		for i, feed := range g.feeds {
			feed.push(g.media.layers[i].frames[idx])
		}
		log.add(g.index, idx, time.Now().UnixMilli())
	}
}

// waitUntil sleeps on timer until due (at once if due has passed); false when ctx ended first.
func waitUntil(ctx context.Context, timer *time.Timer, due time.Time) bool {
	if wait := time.Until(due); wait > 0 {
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		}
	}
	return ctx.Err() == nil
}

// sendAudio writes one 20 ms Opus packet per 20 ms on the same kind of absolute schedule.
func (g *guest) sendAudio(ctx context.Context, start time.Time) {
	timer := time.NewTimer(time.Until(start))
	defer timer.Stop()
	packets := g.media.audio
	duration := sampleDuration(48000, opusPacketDuration)
	for k := int64(0); ; k++ {
		due := start.Add(time.Duration(k) * opusPacketDuration)
		if !waitUntil(ctx, timer, due) {
			return
		}
		sample := media.Sample{Data: packets[k%int64(len(packets))], Duration: duration}
		if err := g.audio.WriteSample(sample, nil); err != nil {
			g.writeError(err)
		}
	}
}

func (g *guest) writeError(err error) {
	if g.writeErrors.Add(1) == 1 {
		fmt.Fprintf(os.Stderr, "%s: write failed (further errors only counted): %v\n", g.identity(), err)
	}
}

func (g *guest) disconnect() {
	if g.room != nil {
		g.room.Disconnect()
	}
}

// sampleDuration is the Duration to hand WriteSample so that the RTP timestamp advances by exactly
// the right number of clock ticks per sample. The SDK converts with uint32(d.Seconds()*clockRate),
// which truncates: 1/30 s is 33333333 ns, i.e. 2999.99997 ticks, i.e. 2999, and the RTP clock would
// run 0.03 % slow against the wall clock (over a second behind after an hour).
func sampleDuration(clockRate int, period time.Duration) time.Duration {
	ticks := uint32(math.Round(period.Seconds() * float64(clockRate)))
	d := time.Duration(math.Ceil(float64(ticks) * float64(time.Second) / float64(clockRate)))
	for uint32(d.Seconds()*float64(clockRate)) < ticks {
		d++
	}
	for d > 0 && uint32((d-1).Seconds()*float64(clockRate)) >= ticks {
		d--
	}
	return d
}

// layerFeed is the SampleProvider of one simulcast layer: sendVideo pushes the frames on our
// clock, the SDK's write loop (LocalTrack.StartWrite) sends them. Going through that loop, rather
// than calling WriteSample ourselves, is what honours dynacast: when the SFU says no subscriber
// needs a layer, the SDK marks that LocalTrack muted and its loop drops the samples instead of
// sending them, as a browser stops encoding a paused layer. The loop also stamps RTP time from
// the sum of the samples' Durations, so timestamps stay monotonic across file loops and pauses.
type layerFeed struct {
	queue    chan []byte
	duration time.Duration
	done     <-chan struct{}
	dropped  atomic.Int64
}

func (f *layerFeed) NextSample(ctx context.Context) (media.Sample, error) {
	select {
	case data := <-f.queue:
		return media.Sample{Data: data, Duration: f.duration}, nil
	case <-f.done:
		return media.Sample{}, io.EOF
	case <-ctx.Done(): // unbound: the SDK starts a new loop on the next bind
		return media.Sample{}, io.EOF
	}
}

// OnBind forgets frames queued while nobody was sending (a rebind after a reconnect).
func (f *layerFeed) OnBind() error {
	for {
		select {
		case <-f.queue:
		default:
			return nil
		}
	}
}

func (f *layerFeed) OnUnbind() error { return nil }
func (f *layerFeed) Close() error    { return nil }

func (f *layerFeed) push(frame []byte) {
	select {
	case f.queue <- frame:
	default:
		f.dropped.Add(1) // no write loop (unbound), or one a whole second behind
	}
}

// acknowledged is how many RTP packets of each video layer (low, medium, high) the SFU reported
// receiving, between its first and its latest receiver report.
func (g *guest) acknowledged() [3]int64 {
	var n [3]int64
	for i := range n {
		if first := g.rrFirst[i].Load(); first != 0 {
			n[i] = g.rrLast[i].Load() - first
		}
	}
	return n
}
