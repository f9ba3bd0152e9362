/// DataLoad: what a table learns from its data (`missing = mean`) is learnt over the rows TrainPlan trains on.
module Nn.Tests.Compiler.DataLoadTests

open System.IO
open Expecto
open Nn.Compiler
open Nn.Tests

let private program =
    """
network t (x: [n, 3]) : [n, 1] =
    x |> dense 1

train t {
    data       = csv "m.csv" { label = "y"; categorical = ["c"]; missing = mean }
    validation = 0.25
    shuffle    = true
    seed       = 3
    loss       = mse
}
"""

[<Tests>]
let tests =
    testList "Compiler.DataLoad" [
        test "missing = mean is the mean of the numbers of the training rows after TrainPlan's shuffle and split" {
            TestUtil.withTempDir "nn-dataload-" (fun dir ->
                // 12 rows: a = i + 1 squared, every third cell empty; c is text
                let lines =
                    [ for i in 0 .. 11 ->
                          let a = if i % 3 = 1 then "" else string ((i + 1) * (i + 1))
                          sprintf "%s,%s,%d" a (if i % 2 = 0 then "p" else "q") i ]
                File.WriteAllText(Path.Combine(dir, "m.csv"), "a,c,y\n" + String.concat "\n" lines + "\n")
                let file = Path.Combine(dir, "m.nn")
                let c = match Compile.compileText file program with Ok c -> c | Error ds -> failtestf "%A" ds
                let plan = TrainPlan.create c c.Trains.Head
                let fill = plan.Table.Value.Columns[0].Fill.Value
                // the oracle: the training rows' own cells, found again by their target (y is the row's number)
                let trainRows = [ for i in 0 .. plan.Train.Count - 1 -> int plan.Train.Targets.Data[i] ]
                Expect.equal trainRows.Length 9 "9 of 12 rows train"
                let numbers =
                    trainRows |> List.filter (fun i -> i % 3 <> 1) |> List.map (fun i -> float ((i + 1) * (i + 1)))
                Expect.floatClose Accuracy.high (float fill) (List.average numbers) "the mean of the training numbers"
                let all = [ for i in 0 .. 11 do if i % 3 <> 1 then float ((i + 1) * (i + 1)) ] |> List.average
                Expect.notEqual (float fill) all "not the mean of every row"
                // features: a, then c one-hot (p, q)
                Expect.equal plan.Train.Features.RowSize 3 "a and two one-hot columns")
        }
    ]
