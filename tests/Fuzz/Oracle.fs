/// The fuzzer's oracle: every case ends in success or a coded diagnostic, within a time limit, within a memory limit.
/// In process: a value or an expected failure (a diagnostic, a runtime error with its code, a command-line mistake),
/// never another exception. As an `nn` process: exit code 0 or 1, never 2, never "internal error" or a stack trace,
/// within 10 s and under 500 MB of peak resident memory.
module Nn.Tests.Fuzz.Oracle

open System
open System.Diagnostics
open System.IO
open System.Threading.Tasks
open Nn.Compiler
open Nn.Tests

/// The limits of issue #16.15.
let timeLimit = TimeSpan.FromSeconds 10.0
let memoryLimitKb = 500L * 1024L

/// What one case did.
type Outcome =
    /// a value, or exit code 0
    | Passed
    /// an expected failure with its code (NNxxxx, or `usage` for a command-line mistake), or exit code 1
    | Coded of string
    /// a broken rule: an uncaught exception, exit 2, a hang, too much memory
    | Failed of string

/// One case's record: its kind (`program`, `csv`, `checkpoint`, ...), the seed that replays it, where it ran,
/// the outcome, the seconds it took, and the peak resident memory of its `nn` process (0 in process).
type Record =
    { Kind: string
      Seed: int
      Where: string
      Outcome: Outcome
      Seconds: float
      PeakKb: int64 }

/// The code of an expected failure, or None for an exception the program should never let out (a bug).
let expectedCode (e: exn) =
    match e with
    | Nn.Cli.Common.UserError _ -> Some "usage"
    | Nn.Cli.Common.Reported ds -> Some(ds |> List.tryHead |> Option.map (fun d -> d.Code) |> Option.defaultValue "")
    | :? ArgumentException as a when a.GetType() = typeof<ArgumentException> -> Some "argument"
    | _ -> RuntimeErrors.tryDiagnostics "fuzz" e |> Option.map (fun ds -> ds.Head.Code)

let private unwrap (e: exn) =
    match e with
    | :? AggregateException as a when a.InnerExceptions.Count = 1 -> a.InnerExceptions[0]
    | e -> e

/// Run `body` in this process within the time limit: Passed, Coded for an expected failure, Failed otherwise.
/// `body` returns the diagnostics' codes of a rejected input (a compile error is a value, not an exception).
let inProcess (body: unit -> string option) : Outcome * float =
    let watch = Stopwatch.StartNew()
    let task = Task.Run(fun () -> body ())
    let finished = try task.Wait timeLimit with _ -> true
    let seconds = watch.Elapsed.TotalSeconds
    if not finished then Failed(sprintf "no answer within %.0f s" timeLimit.TotalSeconds), seconds
    elif task.IsFaulted then
        let e = unwrap task.Exception
        match expectedCode e with
        | Some "" -> Failed "rejected without a diagnostic", seconds
        | Some code -> Coded code, seconds
        | None -> Failed(sprintf "uncaught %s: %s" (e.GetType().Name) e.Message), seconds
    else
        match task.Result with
        | None -> Passed, seconds
        | Some "" -> Failed "rejected without a diagnostic", seconds
        | Some code -> Coded code, seconds

let private peakOf (timeFile: string) =
    try
        File.ReadAllLines timeFile |> Array.rev |> Array.tryPick (fun l ->
            match Int64.TryParse(l.Trim()) with
            | true, kb -> Some kb
            | _ -> None) |> Option.defaultValue 0L
    with _ -> 0L

/// `/usr/bin/time` measures the peak resident memory of a process and its children (its `%M`, in KB).
let private timeTool = "/usr/bin/time"

/// Run the built `nn` in `dir` with `args`, under the time limit (killed past it) and measured: the outcome, seconds,
/// peak KB, and standard error.
let nnProcess (dir: string) (args: string list) : Outcome * float * int64 * string =
    let timeFile = Path.Combine(dir, ".fuzz-time-" + Guid.NewGuid().ToString("N"))
    let measured = File.Exists timeTool
    let psi =
        if measured then ProcessStartInfo(timeTool, WorkingDirectory = dir)
        else ProcessStartInfo("dotnet", WorkingDirectory = dir)
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    let words =
        (if measured then [ "-f"; "%M"; "-o"; timeFile; "dotnet" ] else [])
        @ [ "exec"; Path.Combine(AppContext.BaseDirectory, "nn.dll") ] @ args
    for a in words do psi.ArgumentList.Add a
    psi.Environment["NO_COLOR"] <- "1"
    psi.Environment["DOTNET_gcServer"] <- "0"
    let watch = Stopwatch.StartNew()
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    let inTime = p.WaitForExit(int timeLimit.TotalMilliseconds)
    if not inTime then
        // the process this harness started, and its children, by its id
        try p.Kill true with _ -> ()
        p.WaitForExit()
    let seconds = watch.Elapsed.TotalSeconds
    let stderr = try err.Result with _ -> ""
    out.Result |> ignore
    let peak = if measured then peakOf timeFile else 0L
    (try File.Delete timeFile with _ -> ())
    let firstCode () =
        let m = Text.RegularExpressions.Regex.Match(stderr, @"NN\d{4}")
        if m.Success then m.Value else "usage"
    let outcome =
        if not inTime then Failed(sprintf "no exit within %.0f s" timeLimit.TotalSeconds)
        elif p.ExitCode = 2 || stderr.Contains "internal error" then Failed(sprintf "exit %d: %s" p.ExitCode stderr)
        elif stderr.Contains "   at " then Failed(sprintf "a stack trace: %s" stderr)
        elif p.ExitCode <> 0 && p.ExitCode <> 1 then Failed(sprintf "exit %d: %s" p.ExitCode stderr)
        elif peak > memoryLimitKb then Failed(sprintf "peak memory %d MB" (peak / 1024L))
        elif p.ExitCode = 0 then Passed
        else Coded(firstCode ())
    outcome, seconds, peak, stderr

/// A new empty folder for one case.
let caseDir (kind: string) (seed: int) = TestUtil.tempDir (sprintf "nn-fuzz-%s-%d-" kind seed)

/// Remove a case's folder (and whatever a run wrote there).
let cleanUp (dir: string) = try Directory.Delete(dir, true) with _ -> ()
