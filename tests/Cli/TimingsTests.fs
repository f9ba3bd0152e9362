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

[<Tests>]
let tests =
    testList "Cli.Timings" [
        test "NN_TIMINGS=1 names train's phases in order, with times that grow; unset, nothing" {
            let dir = TestUtil.exampleSandbox "nn-timings-" [ "xor.nn" ]
            let code, _, err = TestUtil.runNn [ "NN_TIMINGS", "1" ] dir [ "train"; "xor.nn"; "--set"; "epochs=2" ]
            Expect.equal code 0 err
            let ps = phases err
            Expect.equal (List.map fst ps)
                [ "start"; "compile"; "data and step graphs"; "executor"; "training"; "predictions"; "curves" ]
                "the phases of a training run"
            let times = List.map snd ps
            Expect.equal times (List.sort times) "each phase ends after the one before"
            let code, _, err = TestUtil.runNn [] dir [ "train"; "xor.nn"; "--set"; "epochs=2" ]
            Expect.equal code 0 err
            Expect.isEmpty (phases err) "no timing lines without NN_TIMINGS"
            Directory.Delete(dir, true)
        }
    ]
