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

/// The CPU time of the calling thread (Linux's CLOCK_THREAD_CPUTIME_ID), NaN where it cannot be read.
let private threadCpu () =
    try
        let mutable t = TimeSpec()
        if OperatingSystem.IsLinux() && clockGetTime (3, &t) = 0 then float t.Seconds + float t.Nanoseconds * 1e-9
        else nan
    with _ -> nan

let private enabled = Environment.GetEnvironmentVariable "NN_TIMINGS" = "1"

/// Seconds since the process started (the runtime's own start-up included).
let private sinceStart () =
    (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds

/// Megabytes of a `/proc/self/status` line such as `VmHWM:  163840 kB`, or NaN where there is none.
let private statusMB (status: string[]) (key: string) =
    status
    |> Array.tryFind (fun line -> line.StartsWith(key + ":"))
    |> Option.map (fun line -> float (line.Substring(key.Length + 1).Trim().Split(' ')[0]) / 1024.0)
    |> Option.defaultValue nan

/// The code the process runs (printed once): natively compiled (Native AOT) or JIT-compiled, and the vector width
/// the kernels take (Vector512 paths only where it is hardware-accelerated).
let private described =
    lazy
        (eprintfn "nn: code %s, Vector512 %b, Vector256 %b"
            (if Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported then "JIT" else "native AOT")
            Runtime.Intrinsics.Vector512.IsHardwareAccelerated Runtime.Intrinsics.Vector256.IsHardwareAccelerated)

/// Prints that `phase` ended now, when NN_TIMINGS=1, with the memory in use.
let mark (phase: string) =
    if enabled then
        described.Force()
        eprintfn "nn: timing %-24s %7.3f s" phase (sinceStart ())
        let status = try IO.File.ReadAllLines "/proc/self/status" with _ -> [||]
        let gc = GC.GetGCMemoryInfo()
        let mb (bytes: int64) = float bytes / 1048576.0
        let cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds
        // at most six arguments a format (the native build's printf roots, src/Cli/Aot)
        eprintfn "nn: memory %-24s peak %5.0f MB, now %5.0f MB, heap %5.0f MB (committed %5.0f MB), cpu %s"
            phase (statusMB status "VmHWM") (statusMB status "VmRSS") (mb gc.HeapSizeBytes)
            (mb gc.TotalCommittedBytes) (sprintf "%6.3f s, this thread %6.3f s" cpu (threadCpu ()))
