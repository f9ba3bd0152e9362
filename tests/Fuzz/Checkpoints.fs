/// Damaged checkpoints for the fuzzer, each made from a seed: bit flips, truncations, bytes inserted or removed,
/// edits of the safetensors header (its length, offsets, shapes, dtypes, metadata records) of a real small run's
/// checkpoint.safetensors (xor, two epochs, trained once by `nn`). In process each is evaluated (`nn eval`'s
/// `measure`) and read for resuming (the state's records and the training step's tensors checked); a sample runs
/// `nn eval`, `nn predict` and `nn train --resume`.
module Nn.Tests.Fuzz.Checkpoints

open System
open System.IO
open System.Text
open Nn.Compiler
open Nn.Tests

/// A folder holding xor.nn, an input file and `base/`, a run of two epochs, trained by `nn` once per process.
let private trained =
    lazy
        (let dir = TestUtil.tempDir "nn-fuzz-ck-"
         File.Copy(Path.Combine(TestUtil.repoRoot, "examples", "xor.nn"), Path.Combine(dir, "xor.nn"))
         File.WriteAllText(Path.Combine(dir, "in.csv"), "a,b\n0,0\n0,1\n1,0\n1,1\n")
         match Oracle.nnProcess dir [ "train"; "xor.nn"; "--set"; "epochs=2"; "--out"; "base"; "--quiet" ] with
         | Oracle.Passed, _, _, _ -> dir
         | _, _, _, err -> failwithf "training xor for the checkpoint fuzzer failed: %s" err)

let private baseBytes = lazy (File.ReadAllBytes(Path.Combine(trained.Force(), "base", "checkpoint.safetensors")))

let private pick (rnd: Random) (xs: 'a[]) = xs[rnd.Next xs.Length]

/// Edits of the JSON header's text: numbers, dtypes, names and records replaced.
let private headerEdits =
    [| "\"F32\"", "\"F16\""; "\"F32\"", "\"I64\""; "\"F32\"", "\"X9\""; "\"F32\"", "\"BOOL\""
       "\"epoch\":\"2\"", "\"epoch\":\"-1\""; "\"epoch\":\"2\"", "\"epoch\":\"99999999999\""
       "\"step\":", "\"stepx\":"; "\"rng\":\"", "\"rng\":\",,"; "\"schedule\":\"", "\"schedule\":\"NaN,"
       "\"data_offsets\":[", "\"data_offsets\":[0,"; "\"data_offsets\":[", "\"data_offsets\":[-"
       "\"shape\":[", "\"shape\":[0,"; "\"shape\":[", "\"shape\":[1000000,"; "\"shape\":[", "\"shape\":[-"
       "\"__metadata__\"", "\"__metadata\""; "{", "["; "dense1.w", "dense9.w"; "dense1.b", "dense1.w"
       ":", "::"; "\"", "'"; "]", "]]"; ",", "" |]

/// Replace the `k`-th occurrence (mod the count) of `a` in the header with `b`, keeping the length field right.
let private editHeader (rnd: Random) (bytes: byte[]) =
    let len = int (BitConverter.ToUInt64(bytes, 0))
    let header = Encoding.UTF8.GetString(bytes, 8, len)
    let a, b = pick rnd headerEdits
    let hits = ResizeArray()
    let mutable i = header.IndexOf(a, StringComparison.Ordinal)
    while i >= 0 do
        hits.Add i
        i <- header.IndexOf(a, i + 1, StringComparison.Ordinal)
    let hits = List.ofSeq hits
    if hits.IsEmpty then bytes
    else
        let at = hits[rnd.Next hits.Length]
        let edited = header.Substring(0, at) + b + header.Substring(at + a.Length)
        let h = Encoding.UTF8.GetBytes edited
        Array.concat [ BitConverter.GetBytes(uint64 h.Length); h; bytes[8 + len ..] ]

/// Replace one digit of the header with another, keeping the JSON valid: an offset, a shape, a record moves.
let private editDigit (rnd: Random) (bytes: byte[]) =
    let len = int (BitConverter.ToUInt64(bytes, 0))
    let digits = [| for i in 8 .. 8 + len - 1 do if bytes[i] >= byte '0' && bytes[i] <= byte '9' then yield i |]
    let b = Array.copy bytes
    if digits.Length > 0 then b[digits[rnd.Next digits.Length]] <- byte '0' + byte (rnd.Next 10)
    b

/// The checkpoint of a seed: the base checkpoint damaged in one to three ways.
let damage (seed: int) =
    let rnd = Random(seed)
    let mutable b = Array.copy (baseBytes.Force())
    for _ in 1 .. 1 + rnd.Next 2 do
        let len = int (BitConverter.ToUInt64(b, 0) |> min (uint64 b.Length))
        match rnd.Next 11 with
        | 0 | 1 when b.Length > 0 ->
            // a bit flip anywhere, in the header or the tensors
            let i = rnd.Next b.Length
            b[i] <- b[i] ^^^ byte (1 <<< rnd.Next 8)
        | 2 when b.Length > 0 -> b <- b[.. rnd.Next b.Length - 1] // truncated
        | 3 when b.Length > 8 + len ->
            // a tensor byte set to a NaN's or an infinity's high byte
            let i = 8 + len + rnd.Next(b.Length - 8 - len)
            b[i] <- pick rnd [| 0x7Fuy; 0xFFuy; 0x80uy |]
        | 4 when b.Length >= 8 ->
            // the header length: off by a little, or huge
            let v =
                pick rnd [| uint64 len + 1UL; uint64 len - 1UL; 0UL; 150_000_000UL; UInt64.MaxValue; uint64 b.Length |]
            BitConverter.GetBytes(v).CopyTo(b, 0)
        | 5 -> b <- Array.append b (Array.init (1 + rnd.Next 64) (fun _ -> byte (rnd.Next 256)))
        | 6 | 7 when b.Length > 8 && len > 2 && 8 + len <= b.Length -> b <- editDigit rnd b
        | _ when b.Length > 8 && len > 2 && 8 + len <= b.Length -> b <- editHeader rnd b
        | _ -> ()
    b

/// A copy of the base run in a folder of its own with the damaged checkpoint; the folder and the run's name.
let private damagedRun (seed: int) =
    let dir = trained.Force()
    let run = sprintf "run-%d-%s" seed (Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory(Path.Combine(dir, run)) |> ignore
    for f in Directory.GetFiles(Path.Combine(dir, "base")) do
        if not (f.EndsWith ".lock") then File.Copy(f, Path.Combine(dir, run, Path.GetFileName f))
    File.WriteAllBytes(Path.Combine(dir, run, "checkpoint.safetensors"), damage seed)
    dir, run

/// One checkpoint case in process: `nn eval`'s measurement, then everything `--resume` checks before training.
let runInProcess (seed: int) : Oracle.Record =
    let dir, run = damagedRun seed
    let path = Path.Combine(dir, run, "checkpoint.safetensors")
    try
        let outcome, seconds =
            Oracle.inProcess (fun () ->
                let file = Path.Combine(dir, "xor.nn")
                let evalCode =
                    try
                        Nn.Cli.Commands.Eval.measureArgs [ file; "--weights"; path ] |> ignore
                        None
                    with e ->
                        match Oracle.expectedCode e with
                        | Some c -> Some c
                        | None -> reraise ()
                match Compile.compileFile file with
                | Error ds -> Some ds.Head.Code
                | Ok c ->
                    let state, meta = Checkpoint.readState path
                    Checkpoint.checkSource c path meta
                    Checkpoint.checkNetwork "xor" path meta
                    let plan = TrainPlan.create c c.Trains.Head
                    Checkpoint.checkResume plan.Graphs path state
                    evalCode)
        { Kind = "checkpoint"; Seed = seed; Where = "in process"; Outcome = outcome; Seconds = seconds; PeakKb = 0L }
    finally
        Oracle.cleanUp (Path.Combine(dir, run))

/// One checkpoint case as `nn` processes: `nn eval`, `nn predict` and `nn train --resume` (a resume that is
/// accepted trains one more epoch).
let runAsProcess (seed: int) : Oracle.Record list =
    let dir, run = damagedRun seed
    try
        let runs =
            [ [ "eval"; "xor.nn"; "--weights"; run ]
              [ "predict"; "xor.nn"; "--weights"; run; "--input"; "in.csv"; "--out"; run + "/p.csv" ]
              [ "train"; "xor.nn"; "--resume"; run; "--set"; "epochs=3"; "--quiet" ] ]
        [ for args in runs ->
            let outcome, seconds, peak, _ = Oracle.nnProcess dir args
            { Kind = "checkpoint: nn " + args.Head; Seed = seed; Where = "nn"; Outcome = outcome; Seconds = seconds
              PeakKb = peak } ]
    finally
        Oracle.cleanUp (Path.Combine(dir, run))
