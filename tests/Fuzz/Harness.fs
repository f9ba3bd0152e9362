/// Runs the fuzzer's cases from a seed and sums them up: the smoke run of the test suite, and the long run
/// (`dotnet run --project tests/Tests.fsproj -c Release -- --fuzz-long`, see tests/Fuzz/README.md).
module Nn.Tests.Fuzz.Harness

open System
open System.Diagnostics
open System.Threading.Tasks

/// How many cases of each kind a run makes, in process and as `nn` processes, from which seed.
type Size =
    { Seed: int
      Programs: int
      DataFiles: int
      Checkpoints: int
      /// cases run as `nn` processes, for each of the three kinds (each makes two or three processes)
      Processes: int }

/// The smoke run of the test suite: about 1,000 cases in process and a few through `nn`.
let smoke = { Seed = 1; Programs = 700; DataFiles = 210; Checkpoints = 90; Processes = 3 }

/// The long run of the issue: 10,000 programs, 2,000 data files and 2,000 checkpoints, 300 of each kind also as
/// `nn` processes.
let long = { Seed = 1; Programs = 10_000; DataFiles = 2_000; Checkpoints = 2_000; Processes = 300 }

/// The seed of the i-th case of a run: consecutive from the run's seed, so one case replays alone with
/// `--seed S` and a count of 1.
let caseSeed (size: Size) (i: int) = size.Seed + i

/// Run `f` for each seed, `width` at a time, keeping the seeds' order in the result.
let private each (width: int) (seeds: int list) (f: int -> 'a) : 'a list =
    let results = Array.zeroCreate seeds.Length
    let options = ParallelOptions(MaxDegreeOfParallelism = width)
    Parallel.For(0, seeds.Length, options, (fun i -> results[i] <- f seeds[i])) |> ignore
    List.ofArray results

/// Every case of a run: in process (all of them) and as processes (the first `Processes` seeds of each kind).
let run (width: int) (log: string -> unit) (size: Size) : Oracle.Record list =
    let seeds n = List.init n (caseSeed size)
    let sampled n = seeds (min n size.Processes)
    let stage (name: string) (f: unit -> Oracle.Record list) =
        let watch = Stopwatch.StartNew()
        let records = f ()
        log (sprintf "%s: %d runs in %.0f s" name records.Length watch.Elapsed.TotalSeconds)
        records
    let dataWeights =
        lazy
            (let dirs = [ for f in [ "csv"; "idx"; "npy" ] -> f, Oracle.caseDir ("weights-" + f) 0 ]
             dict [ for f, d in dirs -> f, DataFiles.trainedWeights d f ])
    [ yield! stage "programs in process" (fun () -> each width (seeds size.Programs) Programs.runInProcess)
      yield! stage "data files in process" (fun () -> each width (seeds size.DataFiles) DataFiles.runInProcess)
      yield! stage "checkpoints in process" (fun () -> each width (seeds size.Checkpoints) Checkpoints.runInProcess)
      yield! stage "programs as nn" (fun () -> each width (sampled size.Programs) Programs.runAsProcess |> List.concat)
      yield! stage "data files as nn" (fun () ->
          match sampled size.DataFiles with
          | [] -> []
          | seeds ->
              let weights = dataWeights.Force()
              each width seeds (DataFiles.runAsProcess (fun f -> weights[f])) |> List.concat)
      yield! stage "checkpoints as nn" (fun () ->
          each width (sampled size.Checkpoints) Checkpoints.runAsProcess |> List.concat) ]

let private failed (r: Oracle.Record) = match r.Outcome with Oracle.Failed _ -> true | _ -> false

/// The text that replays a failure: its kind, seed and why, and a program's text.
let describe (r: Oracle.Record) =
    let why = match r.Outcome with Oracle.Failed m -> m | o -> sprintf "%A" o
    let text = if r.Kind.StartsWith "program: " && r.Where = "in process" then "\n" + Programs.describe r.Seed else ""
    sprintf "%s (%s), seed %d: %s%s" r.Kind r.Where r.Seed why text

/// The run's figures, one line each.
let report (records: Oracle.Record list) =
    let count pred = records |> List.filter pred |> List.length
    let kinds (prefix: string) where =
        count (fun r -> r.Kind.StartsWith prefix && r.Where = where)
    let processes = records |> List.filter (fun r -> r.Where = "nn")
    let exit2 = count (fun r -> match r.Outcome with Oracle.Failed m -> m.StartsWith "exit 2" | _ -> false)
    let coded = count (fun r -> match r.Outcome with Oracle.Coded _ -> true | _ -> false)
    [ sprintf "in process: %d programs, %d data files, %d checkpoints"
          (kinds "program" "in process") (kinds "data" "in process") (kinds "checkpoint" "in process")
      sprintf "as nn processes: %d (programs %d, data files %d, checkpoints %d)"
          processes.Length (kinds "program" "nn") (kinds "data" "nn") (kinds "checkpoint" "nn")
      sprintf "outcomes: %d passed, %d coded diagnostics, %d failures"
          (count (fun r -> r.Outcome = Oracle.Passed)) coded (count failed)
      sprintf "exits of 2: %d; runs past 10 s: %d; slowest: %.2f s in process, %.2f s as nn"
          exit2 (count (fun r -> r.Seconds > 10.0))
          (records |> List.filter (fun r -> r.Where = "in process") |> List.fold (fun m r -> max m r.Seconds) 0.0)
          (processes |> List.fold (fun m r -> max m r.Seconds) 0.0)
      sprintf "peak memory of an nn process: %d MB; of this process: %d MB"
          ((processes |> List.fold (fun m r -> max m r.PeakKb) 0L) / 1024L)
          (Process.GetCurrentProcess().PeakWorkingSet64 / 1048576L) ]

/// For each kind of case: how many passed and the diagnostics' codes they got, most frequent first.
let breakdown (records: Oracle.Record list) =
    records
    |> List.groupBy (fun r -> sprintf "%s (%s)" r.Kind r.Where)
    |> List.sortBy fst
    |> List.map (fun (kind, rs) ->
        let codes =
            rs |> List.choose (fun r -> match r.Outcome with Oracle.Coded c -> Some c | _ -> None)
            |> List.countBy id |> List.sortByDescending snd |> List.truncate 8
            |> List.map (fun (c, n) -> sprintf "%s %d" c n) |> String.concat ", "
        let passed = rs |> List.filter (fun r -> r.Outcome = Oracle.Passed) |> List.length
        sprintf "  %s: %d, %d passed; %s" kind rs.Length passed codes)

/// The failures of a run, each with what replays it.
let failures (records: Oracle.Record list) = records |> List.filter failed |> List.map describe

/// `--fuzz-long [--seed S] [--programs N] [--data N] [--checkpoints N] [--processes N]`: run, print the figures
/// and every failure; exit code 1 on a failure.
let main (args: string list) =
    let rec parse (s: Size) args =
        match args with
        | "--seed" :: v :: rest -> parse { s with Seed = int v } rest
        | "--programs" :: v :: rest -> parse { s with Programs = int v } rest
        | "--data" :: v :: rest -> parse { s with DataFiles = int v } rest
        | "--checkpoints" :: v :: rest -> parse { s with Checkpoints = int v } rest
        | "--processes" :: v :: rest -> parse { s with Processes = int v } rest
        | [] -> s
        | a :: _ -> failwithf "unknown fuzz option `%s`" a
    let size = parse long args
    printfn "fuzz: seed %d, %d programs, %d data files, %d checkpoints, %d of each as nn processes"
        size.Seed size.Programs size.DataFiles size.Checkpoints size.Processes
    let watch = Stopwatch.StartNew()
    let records = run 2 (printfn "  %s") size
    report records |> List.iter (printfn "%s")
    breakdown records |> List.iter (printfn "%s")
    printfn "time: %.0f s" watch.Elapsed.TotalSeconds
    let fs = failures records
    for f in fs do printfn "FAILED %s" f
    if fs.IsEmpty then 0 else 1
