package loadgen

import (
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestSampleOwnProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc:", err)
	}
	pid := os.Getpid()
	s1, err := SampleProc(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU on every core until the process has used want of it, however busy the
	// machine is (a fixed burn gets too little CPU where other processes share the
	// cores), and keep 64 MiB resident.
	mem := make([]byte, 64<<20)
	for i := range mem {
		mem[i] = byte(i)
	}
	const want = 300 * time.Millisecond
	stop := make(chan struct{})
	var burners sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		burners.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	for giveUp := time.Now().Add(30 * time.Second); time.Now().Before(giveUp); time.Sleep(10 * time.Millisecond) {
		if s, err := SampleProc(pid); err != nil || s.CPU-s1.CPU >= want {
			break
		}
	}
	close(stop)
	burners.Wait()
	s2, err := SampleProc(pid)
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(mem)

	cpu, wall := s2.CPU-s1.CPU, s2.At.Sub(s1.At)
	// At least what was burnt, at most every core for the whole wall time plus a tick
	// of rounding per reading.
	if cpu < want || cpu > time.Duration(runtime.GOMAXPROCS(0))*wall+20*time.Millisecond {
		t.Fatalf("CPU %v over %v wall on %d cores", cpu, wall, runtime.GOMAXPROCS(0))
	}
	if s2.RSS < 64<<20 || s2.HWM < s2.RSS || s2.HWM < s1.HWM {
		t.Fatalf("RSS %d, HWM %d (HWM before %d)", s2.RSS, s2.HWM, s1.HWM)
	}
	u := ProcUsage{PID: pid, Start: s1, End: s2, MaxRSS: s2.RSS}
	if c, want := u.Cores(), cpu.Seconds()/wall.Seconds(); c < want-0.01 || c > want+0.01 {
		t.Fatalf("%.3f cores, want CPU over wall time, %.3f", c, want)
	}
	t.Logf("burnt %v CPU in %v: %.2f cores; RSS %d MiB, HWM %d MiB", cpu, wall, u.Cores(), s2.RSS>>20, s2.HWM>>20)

	if _, err := SampleProc(1 << 30); err == nil { // above any pid_max
		t.Fatal("sampled a process that cannot exist")
	}
	if _, err := watchProcs([]int{pid, 1 << 30}); err == nil {
		t.Fatal("watched a process that cannot exist")
	}
}

func TestParseProcFiles(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (my (odd) srv) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 57 0 0 20 0 8 0 100 123456 789 18446744073709551615\n"
	cpu, err := parseStatCPU([]byte(stat))
	if err != nil || cpu != 2070*time.Millisecond {
		t.Fatalf("cpu %v, %v", cpu, err)
	}
	for _, bad := range []string{"4242 no parens", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 -5 7 1"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	status := "Name:\tlicensor\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t8\n"
	hwm, rss, err := parseStatusMemory([]byte(status))
	if err != nil || hwm != 50<<20 || rss != 40<<20 {
		t.Fatalf("hwm %d rss %d %v", hwm, rss, err)
	}
	if _, _, err := parseStatusMemory([]byte("Name:\tkthreadd\nThreads:\t1\n")); err == nil {
		t.Fatal("a kernel thread has no memory lines")
	}
}

func TestPeakRSSDuringARun(t *testing.T) {
	at := time.Now()
	u := ProcUsage{
		Start:  ProcSample{At: at, CPU: time.Second, HWM: 100, RSS: 50},
		End:    ProcSample{At: at.Add(4 * time.Second), CPU: 7 * time.Second, HWM: 100, RSS: 60},
		MaxRSS: 80,
	}
	// VmHWM did not move: the old peak predates the run, the sampled maximum is the run's.
	if u.PeakRSS() != 80 || u.CPU() != 6*time.Second || u.Cores() != 1.5 {
		t.Fatalf("peak %d, cpu %v, cores %.2f", u.PeakRSS(), u.CPU(), u.Cores())
	}
	// VmHWM rose during the run: the run's peak, unless a sample saw more
	// (the kernel updates VmHWM lazily).
	u.End.HWM = 120
	if u.PeakRSS() != 120 {
		t.Fatalf("peak %d", u.PeakRSS())
	}
	u.MaxRSS = 130
	if u.PeakRSS() != 130 {
		t.Fatalf("peak %d", u.PeakRSS())
	}
}
