/// A network with several inputs through the `nn` command (issue #19.3): examples/two_inputs.nn trains (2 epochs),
/// `summary` lists both inputs, `eval` evaluates them, and `predict` gives the same outputs from the CSV file (cut
/// into the block's feature lists) as from one .npy file per input; a wrong number of files is NN0571.
module Nn.Tests.Cli.SeveralInputsTests

open System.IO
open Expecto
open Nn.Runtime.Data
open Nn.Tests.TestUtil

let private nn (dir: string) (args: string list) =
    let code, out, err = runNn [] dir args
    code, out, err.Replace(dir + "/", "")

[<Tests>]
let tests =
    testList "Cli.SeveralInputs" [
        test "two_inputs.nn: train, summary, eval, and predict from CSV lists or from one npy file per input" {
            let dir = examplesWithMnistHead "nn-inputs-" 10
            let code, _, err = nn dir [ "train"; "two_inputs.nn"; "--set"; "epochs=2"; "--out"; "run"; "--quiet" ]
            Expect.equal code 0 (sprintf "trains (stderr: %s)" err)
            let code, out, _ = nn dir [ "summary"; "two_inputs.nn" ]
            Expect.equal code 0 "summary"
            Expect.stringContains out "network flower (sepal: [n, 2], petal: [n, 2]) -> [n, 3]" "both inputs"
            let code, out, err = nn dir [ "eval"; "two_inputs.nn"; "--weights"; "run" ]
            Expect.equal code 0 (sprintf "eval (stderr: %s)" err)
            Expect.stringContains out "accuracy" "a metric of both inputs"
            // the iris columns as two .npy files, sepal then petal
            let data = Csv.Read(Path.Combine(dir, "data", "iris.csv"), CsvSpec(null, ColumnRef.ByName "species"))
            let x = data.Features
            let half (first: int) =
                HostTensor([| x.Rows; 2 |],
                    [| for r in 0 .. x.Rows - 1 do yield! x.Row(r).Slice(first, 2).ToArray() |])
            Npy.Write(Path.Combine(dir, "sepal.npy"), half 0)
            Npy.Write(Path.Combine(dir, "petal.npy"), half 2)
            let predict (input: string) (out: string) =
                let code, _, err =
                    nn dir [ "predict"; "two_inputs.nn"; "--weights"; "run"; "--input"; input; "--out"; out ]
                Expect.equal code 0 (sprintf "predict %s (stderr: %s)" input err)
                (Npy.ReadHost(Path.Combine(dir, out))).Data
            let fromCsv = predict "data/iris.csv" "csv.npy"
            let fromNpy = predict "sepal.npy,petal.npy" "npy.npy"
            Expect.equal fromCsv.Length (150 * 3) "a probability per class and row"
            Expect.sequenceEqual fromNpy fromCsv "the same inputs give the same outputs"
            let code, _, err = nn dir [ "predict"; "two_inputs.nn"; "--weights"; "run"; "--input"; "sepal.npy" ]
            Expect.equal code 1 "one file for two inputs"
            Expect.stringStarts err
                "sepal.npy: error NN0571: --input gives 1 input, but the network `flower` takes 2 (`sepal`, `petal`)"
                "the message"
        }
    ]
