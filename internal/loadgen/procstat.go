package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on
// every Linux architecture Go runs on (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

// ProcSample is one reading of a process's /proc/PID/stat and /proc/PID/status.
type ProcSample struct {
	PID int
	At  time.Time
	CPU time.Duration // utime + stime: CPU time used since the process started
	HWM int64         // VmHWM, peak resident set since the process started (bytes)
	RSS int64         // VmRSS, resident set now (bytes)
}

// SampleProc reads the CPU time and memory of process pid (Linux /proc only).
func SampleProc(pid int) (ProcSample, error) {
	s := ProcSample{PID: pid, At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("process %d: %w", pid, err)
	}
	if s.CPU, err = parseStatCPU(stat); err != nil {
		return s, fmt.Errorf("process %d: /proc/%d/stat: %w", pid, pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("process %d: %w", pid, err)
	}
	if s.HWM, s.RSS, err = parseStatusMemory(status); err != nil {
		return s, fmt.Errorf("process %d: /proc/%d/status: %w", pid, pid, err)
	}
	return s, nil
}

// parseStatCPU returns utime+stime of a /proc/PID/stat line. The command name
// (field 2) is in parentheses and may itself hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("no command name")
	}
	f := strings.Fields(string(stat[end+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("utime/stime %q is not a tick count", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / clockTicks), nil
}

// parseStatusMemory returns VmHWM and VmRSS in bytes from /proc/PID/status.
// Kernel threads and zombies have neither: an error.
func parseStatusMemory(status []byte) (hwm, rss int64, err error) {
	var haveHWM, haveRSS bool
	for line := range strings.SplitSeq(string(status), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("%s: unexpected value %q", name, val)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", name, err)
		}
		if name == "VmHWM" {
			hwm, haveHWM = kb<<10, true
		} else {
			rss, haveRSS = kb<<10, true
		}
	}
	if !haveHWM || !haveRSS {
		return 0, 0, errors.New("no VmHWM/VmRSS (not a user process?)")
	}
	return hwm, rss, nil
}

// ProcUsage is what a process used over a run: CPU time between two samples and
// its memory high-water marks.
type ProcUsage struct {
	PID        int
	Start, End ProcSample
	// MaxRSS is the largest VmRSS seen by sampling during the run (every
	// procInterval), at least the start and end readings.
	MaxRSS int64
}

// CPU is the CPU time the process used during the run.
func (u ProcUsage) CPU() time.Duration { return u.End.CPU - u.Start.CPU }

// Cores is the average number of cores the process kept busy during the run.
func (u ProcUsage) Cores() float64 {
	wall := u.End.At.Sub(u.Start.At)
	if wall <= 0 {
		return 0
	}
	return u.CPU().Seconds() / wall.Seconds()
}

// PeakRSS is the best estimate of the process's peak resident set during the run:
// the largest sampled VmRSS, or VmHWM at the end if that is larger and rose during
// the run. (VmHWM that did not rise holds an older peak; and the kernel updates
// it lazily, so a sampled VmRSS can exceed it.)
func (u ProcUsage) PeakRSS() int64 {
	if u.End.HWM > u.Start.HWM {
		return max(u.End.HWM, u.MaxRSS)
	}
	return u.MaxRSS
}

// procInterval is how often a run samples VmRSS of the watched processes.
const procInterval = 200 * time.Millisecond

// procWatch samples processes from Start to Stop.
type procWatch struct {
	usage []ProcUsage
	quit  chan struct{}
	done  chan struct{}
}

// watchProcs takes the start samples of pids and samples their VmRSS in the
// background until stop.
func watchProcs(pids []int) (*procWatch, error) {
	w := &procWatch{usage: make([]ProcUsage, len(pids)), quit: make(chan struct{}), done: make(chan struct{})}
	for i, pid := range pids {
		s, err := SampleProc(pid)
		if err != nil {
			return nil, err
		}
		w.usage[i] = ProcUsage{PID: pid, Start: s, MaxRSS: s.RSS}
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(procInterval)
		defer t.Stop()
		for {
			select {
			case <-w.quit:
				return
			case <-t.C:
				for i := range w.usage {
					if s, err := SampleProc(w.usage[i].PID); err == nil {
						w.usage[i].MaxRSS = max(w.usage[i].MaxRSS, s.RSS)
					}
				}
			}
		}
	}()
	return w, nil
}

// stop takes the end samples and returns the usage of every process.
func (w *procWatch) stop() ([]ProcUsage, error) {
	close(w.quit)
	<-w.done
	var errs []error
	for i := range w.usage {
		s, err := SampleProc(w.usage[i].PID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w.usage[i].End = s
		w.usage[i].MaxRSS = max(w.usage[i].MaxRSS, s.RSS)
	}
	return w.usage, errors.Join(errs...)
}
