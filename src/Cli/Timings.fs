/// Where a command's time and memory go (issue #18): with NN_TIMINGS=1 set, each phase's wall time since the
/// process started is printed to standard error as `nn: timing PHASE S s` (JIT, loading and writing included),
/// then `nn: memory PHASE peak P MB, now R MB, heap H MB (committed C MB)`: the peak and current resident memory of
/// the process (VmHWM and VmRSS of /proc/self/status, where there is one), the managed heap and the memory the GC had
/// committed at its last collection, the CPU time of all its threads so far (user and system: steadier than wall
/// time on a loaded machine) and of the command's own thread (the critical path on an idle machine: work other
/// threads do meanwhile, such as touching pages or drawing curves, is not in it). Off by default: nothing is measured
/// or printed.
module internal Nn.Cli.Timings

open System
open System.Diagnostics
open System.Runtime.InteropServices

[<Struct; StructLayout(LayoutKind.Sequential)>]
type TimeSpec =
    val mutable Seconds: int64
    val mutable Nanoseconds: int64

[<DllImport("libc", EntryPoint = "clock_gettime")>]
extern int clockGetTime(int clock, TimeSpec& time)

/// The CPU time of a Linux clock (CLOCK_PROCESS_CPUTIME_ID 2, CLOCK_THREAD_CPUTIME_ID 3), NaN where it cannot be read.
let private cpuClock (clock: int) =
    try
        let mutable t = TimeSpec()
        if OperatingSystem.IsLinux() && clockGetTime (clock, &t) = 0 then float t.Seconds + float t.Nanoseconds * 1e-9
        else nan
    with _ -> nan

/// The CPU time of the calling thread.
let private threadCpu () = cpuClock 3

/// The CPU time of the process (all its threads, user and system), from the system's clock where there is one.
let private processCpu () =
    let t = cpuClock 2
    if Double.IsNaN t then Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds else t

let private enabled = Environment.GetEnvironmentVariable "NN_TIMINGS" = "1"

/// When the process started (read once: asking the system for it at every mark cost ~0.05 ms of the marked thread).
let private started = lazy (Process.GetCurrentProcess().StartTime.ToUniversalTime())

/// Seconds since the process started (the runtime's own start-up included).
let private sinceStart () =
    (DateTime.UtcNow - started.Value).TotalSeconds

/// Megabytes of a `/proc/self/status` line such as `VmHWM:  163840 kB`, or NaN where there is none.
let private statusMB (status: string[]) (key: string) =
    status
    |> Array.tryFind (fun line -> line.StartsWith(key + ":"))
    |> Option.map (fun line -> float (line.Substring(key.Length + 1).Trim().Split(' ')[0]) / 1024.0)
    |> Option.defaultValue nan

let private inv = Globalization.CultureInfo.InvariantCulture

/// The code the process runs (printed once): natively compiled (Native AOT) or JIT-compiled, and the vector width
/// the kernels take (Vector512 paths only where it is hardware-accelerated).
let private described =
    lazy
        (stderr.Write
            (String.Format(inv, "nn: code {0}, Vector512 {1}, Vector256 {2}\n",
                (if Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported then "JIT" else "native AOT"),
                (if Runtime.Intrinsics.Vector512.IsHardwareAccelerated then "true" else "false"),
                (if Runtime.Intrinsics.Vector256.IsHardwareAccelerated then "true" else "false"))))

/// Prints that `phase` ended now, when NN_TIMINGS=1, with the memory in use. Each mark is one write of two lines
/// formatted by .NET, not printf (whose ~20 pieces, each a system call, were ~0.25 ms of the marked thread a mark in
/// the native build: ~2 ms of `nn predict`'s whole-process figure in bench/peer, which sets NN_TIMINGS).
let mark (phase: string) =
    if enabled then
        described.Force()
        let now = sinceStart ()
        let status = try IO.File.ReadAllLines "/proc/self/status" with _ -> [||]
        let gc = GC.GetGCMemoryInfo()
        let mb (bytes: int64) = float bytes / 1048576.0
        let args: obj[] =
            [| phase; now; statusMB status "VmHWM"; statusMB status "VmRSS"; mb gc.HeapSizeBytes
               mb gc.TotalCommittedBytes; processCpu (); threadCpu (); mb (GC.GetTotalAllocatedBytes false)
               mb (GC.GetAllocatedBytesForCurrentThread()) |]
        stderr.Write
            (String.Format(inv, "nn: timing {0,-24} {1,7:F3} s\nnn: memory {0,-24} peak {2,5:F0} MB, now {3,5:F0} MB, \
heap {4,5:F0} MB (committed {5,5:F0} MB, allocated {8,5:F1} MB, by this thread {9,5:F1} MB), cpu {6,6:F3} s, \
this thread {7,6:F3} s\n", args))
