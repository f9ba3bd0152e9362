/// NN_TIMINGS=1 (src/Cli/Timings.fs, issue #18): `nn train` and `nn predict` name their phases on standard error in
/// order, with times that grow; without it they print none. The times themselves are never asserted.
module Nn.Tests.Cli.Timings

open System.IO
open Expecto
open Nn.Tests

/// The `nn: timing PHASE S s` lines of standard error, as (phase, seconds).
let private phases (err: string) =
    [ for line in err.Split('\n') do
          if line.StartsWith "nn: timing " then
              let words =
                  line.Substring("nn: timing ".Length).Trim().Split(' ', System.StringSplitOptions.RemoveEmptyEntries)
              yield String.concat " " words[.. words.Length - 3], float words[words.Length - 2] ]

/// The `nn: memory PHASE peak P MB, ...` lines of standard error, as (phase, peak MB).
let private peaks (err: string) =
    [ for line in err.Split('\n') do
          if line.StartsWith "nn: memory " then
              let rest = line.Substring("nn: memory ".Length)
              let at = rest.IndexOf " peak "
              let peak = rest.Substring(at + " peak ".Length).TrimStart().Split(' ')[0]
              yield rest.Substring(0, at).Trim(), float peak ]

[<Tests>]
let tests =
    testList "Cli.Timings" [
        test "NN_TIMINGS=1 names train's and predict's phases in order, with times that grow; unset, nothing" {
            let dir = TestUtil.exampleSandbox "nn-timings-" [ "xor.nn" ]
            let code, _, err = TestUtil.runNn [ "NN_TIMINGS", "1" ] dir [ "train"; "xor.nn"; "--set"; "epochs=2" ]
            Expect.equal code 0 err
            let ps = phases err
            Expect.equal (List.map fst ps)
                [ "start"; "compile"; "data and step graphs"; "executor"; "training"; "predictions"; "curves" ]
                "the phases of a training run"
            let times = List.map snd ps
            Expect.equal times (List.sort times) "each phase ends after the one before"
            let memory = peaks err
            Expect.equal (List.map fst memory) (List.map fst ps) "a memory line after each timing line"
            if File.Exists "/proc/self/status" then
                let mbs = List.map snd memory
                Expect.equal mbs (List.sort mbs) "the peak resident memory never falls"
                Expect.isGreaterThan mbs.Head 1.0 "a .NET process holds more than a megabyte"
            let code, _, err = TestUtil.runNn [] dir [ "train"; "xor.nn"; "--set"; "epochs=2" ]
            Expect.equal code 0 err
            Expect.isEmpty (phases err) "no timing lines without NN_TIMINGS"
            Expect.isEmpty (peaks err) "no memory lines without NN_TIMINGS"
            // predict's phases, from the run just trained
            let points = Path.Combine(dir, "points.csv")
            File.WriteAllText(points, "a,b\n0,1\n1,1\n")
            let weights = Directory.GetFiles(dir, "checkpoint.safetensors", SearchOption.AllDirectories)[0]
            let args = [ "predict"; "xor.nn"; "--weights"; weights; "--input"; points ]
            let code, _, err = TestUtil.runNn [ "NN_TIMINGS", "1" ] dir args
            Expect.equal code 0 err
            Expect.equal (phases err |> List.map fst)
                [ "start"; "compile"; "graphs and weights"; "input"; "executor"; "forward"; "outputs" ]
                "the phases of a prediction"
            Directory.Delete(dir, true)
        }

        test "NN_TIMINGS=kernels lists the training step's kernels after training, and no phases" {
            let dir = TestUtil.exampleSandbox "nn-kernel-timings-" [ "xor.nn" ]
            let code, _, err = TestUtil.runNn [ "NN_TIMINGS", "kernels" ] dir [ "train"; "xor.nn"; "--set"; "epochs=2" ]
            Expect.equal code 0 err
            Expect.isEmpty (phases err) "no phase lines: those are NN_TIMINGS=1's"
            let lines = err.Split('\n')
            let header = lines |> Array.tryFind (fun l -> l.StartsWith "nn: kernels of the training step at batch ")
            Expect.isSome header err
            let kernels =
                int (System.Text.RegularExpressions.Regex.Match(header.Value, @": (\d+) kernels, ").Groups[1].Value)
            let rows =
                lines
                |> Array.filter (fun l -> l.StartsWith "nn:   k" && not (l.StartsWith "nn:   kernel"))
                |> Array.map (fun l -> l.Split(' ', System.StringSplitOptions.RemoveEmptyEntries)[1])
            Expect.isGreaterThan kernels 1 "a training step has several kernels"
            Expect.containsAll rows [ for i in 0 .. kernels - 1 -> sprintf "k%d" i ] "a row for every kernel"
            Expect.isTrue (lines |> Array.exists (fun l -> l.Contains "between runs (the caller)")) err
            Directory.Delete(dir, true)
        }
    ]
