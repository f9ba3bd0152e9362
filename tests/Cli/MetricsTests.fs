/// `nn train` and `nn eval` with the metrics of issue #19: the columns of metrics.csv (a function of the program under
/// its name), values that agree with the loss, and monitors of any metric.
module Nn.Tests.Cli.Metrics

open System
open System.Globalization
open System.IO
open Expecto
open Nn.Tests

let private nn = TestUtil.runNn []

let private regression =
    """let dense units (x: [n, k]) =
    param w : [k, units] = glorot
    param b : [units] = zeros
    x @ w + b

/// mean absolute percentage error, as a fraction
let mape (p: [n, 1]) (t: [n, 1]) = meanAll (abs (p - t) / t)

network line (x: [n, 1]) : [n, 1] =
    x |> dense 8 |> tanh |> dense 1

train line {
    data       = generate 200 (fun x -> 3.0 * x + 5.0) { low = 0.0; high = 1.0; noise = 0.1 }
    loss       = mse
    metrics    = [rmse; r2; mape]
    optimizer  = adam { lr = 0.05 }
    validation = 0.25
    batch      = 16
    epochs     = 4
    stop       = earlyStopping { monitor = validation mape; patience = 2 }
}
"""

/// metrics.csv of the only run of `network` in `dir`, as rows of named numbers.
let private table (dir: string) (network: string) =
    let runs = Directory.GetDirectories(Path.Combine(dir, "runs", network))
    let run = runs |> Array.filter (fun d -> Path.GetFileName d <> "latest") |> Array.exactlyOne
    let lines = File.ReadAllLines(Path.Combine(run, "metrics.csv"))
    let header = lines[0].Split ','
    lines[0],
    [ for l in lines[1..] ->
        Array.zip header (l.Split ',' |> Array.map (fun c -> Double.Parse(c, CultureInfo.InvariantCulture)))
        |> Map.ofArray ]

[<Tests>]
let tests =
    testList "Cli.Metrics" [
        test "a function of the program is a column of metrics.csv under its name; rmse is the root of the mse loss" {
            let dir = TestUtil.exampleSandbox "nn-metrics-" []
            Directory.CreateDirectory dir |> ignore
            File.WriteAllText(Path.Combine(dir, "line.nn"), regression)
            let code, out, err = nn dir [ "train"; "line.nn" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let header, rows = table dir "line"
            Expect.equal header "epoch,loss,rmse,r2,mape,val_loss,val_rmse,val_r2,val_mape,lr,seconds" "header"
            Expect.isNonEmpty rows "rows"
            for r in rows do
                // the loss is the mse of the same rows: rmse² must give it back (float32 sums, so 1e-5 relative)
                Expect.floatClose { absolute = 1e-6; relative = 1e-5 } (r["rmse"] ** 2.0) r["loss"] "rmse² = loss"
                Expect.floatClose { absolute = 1e-6; relative = 1e-5 } (r["val_rmse"] ** 2.0) r["val_loss"]
                    "val_rmse² = val_loss"
                Expect.isTrue (r["mape"] >= 0.0 && r["val_r2"] <= 1.0) "mape ≥ 0, r2 ≤ 1"
            Expect.isFalse (out.Contains "Exception") "no stack trace"
            let code, out, err = nn dir [ "eval"; "line.nn"; "--weights"; Path.Combine("runs", "line", "latest") ]
            Expect.equal code 0 (sprintf "eval (stderr: %s)" err)
            Expect.stringContains out "  mape " "nn eval reports the function metric"
            Expect.stringContains out "  r2 " "and r2"
        }
        test "a classifier's topK, precision, recall and f1, and early stopping on validation f1" {
            let dir = TestUtil.exampleSandbox "nn-metrics-" [ "iris.nn"; "data/iris.csv" ]
            let code, out, err =
                nn dir [ "train"; "iris.nn"; "--set"; "epochs=3"
                         "--set"; "metrics=[accuracy; topK 2; precision; recall; f1]"
                         "--set"; "stop=earlyStopping { monitor = validation f1; patience = 1 }" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let header, rows = table dir "iris"
            Expect.equal header
                ("epoch,loss,accuracy,top2,precision,recall,f1,val_loss,val_accuracy,val_top2,val_precision,"
                 + "val_recall,val_f1,lr,seconds") "header"
            for r in rows do
                for prefix in [ ""; "val_" ] do
                    // every row whose best class is right has its class among the best two
                    Expect.isGreaterThanOrEqual r[prefix + "top2"] r[prefix + "accuracy"] "top2 ≥ accuracy"
                    for m in [ "precision"; "recall"; "f1" ] do
                        Expect.isTrue (r[prefix + m] >= 0.0 && r[prefix + m] <= 1.0) (prefix + m)
            Expect.stringContains out "val_f1 " "progress shows the metrics"
        }
    ]
