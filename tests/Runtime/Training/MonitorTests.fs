module Nn.Tests.Runtime.Training.MonitorTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Ops
open Nn.Runtime.Training

let private sp = SourceSpan.None

/// A model whose training step reports, at epoch e, the metric statistics `stats e` (one batch per epoch).
let private scripted (metric: Metric) (stats: int -> double[]) =
    let forward =
        ForwardBuilder(fun ctx ->
            let b = ctx.Builder
            let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 1), sp)
            b.MatMul(x, b.Param("w", Shape.Of(1, 1), InitSpec("constant", 0.5), sp), sp))
    let graphs = TrainStep.Build(forward, TrainSpec(Metrics = [ metric ]))
    let mutable epoch = -1
    let exec =
        { new IStepExecutor with
            member _.Load _ = ()
            member _.Snapshot() = Dictionary()
            member _.Step(_: IReadOnlyList<HostTensor>, _: HostTensor, _: float, _: int64, _: uint64) =
                epoch <- epoch + 1
                BatchResult.Of(1.0, [ metric ], [| stats epoch |])
            member _.Evaluate(_: IReadOnlyList<HostTensor>, _: HostTensor) : BatchResult = failwith "no validation rows"
            member _.Predict(x: IReadOnlyList<HostTensor>) = x[0] }
    graphs, exec

let private fit (metric: Metric) (monitor: Monitor) (stats: int -> double[]) =
    let graphs, exec = scripted metric stats
    let data = Dataset(HostTensor([| 4; 1 |], Array.zeroCreate 4), HostTensor([| 4; 1 |], Array.zeroCreate 4))
    let stop = EarlyStoppingSpec(Monitor = monitor, Patience = 2)
    Trainer.Fit(graphs, exec, data, null, TrainOptions(Epochs = 10, Batch = 4, Stop = stop))

[<Tests>]
let tests =
    testList "Runtime.Training.Monitors" [
        test "a monitor knows which way is better: accuracy, topK, precision, recall, f1, r2 rise; errors fall" {
            let rising = [ Metric.Accuracy; Metric.TopK 5; Metric.Precision; Metric.Recall; Metric.F1; Metric.R2 ]
            for m in rising do
                Expect.isTrue (Monitor.Of(m, false).Maximize) m.Name
                Expect.isTrue (Monitor.Of(m, true).Maximize) ("validation " + m.Name)
            for m in [ Metric.Mae; Metric.Mse; Metric.Rmse ] do
                Expect.isFalse (Monitor.Of(m, true).Maximize) m.Name
            let f = Metric.Function("mape", System.Func<_, _, _, _, _>(fun _ p _ _ -> p))
            Expect.isFalse (Monitor.Of(f, true).Maximize) "a function of the program"
            Expect.isFalse Monitor.ValidationLoss.Maximize "the loss"
        }
        test "monitors of metrics are named as written; accuracy's keep their names" {
            Expect.equal (Monitor.Of(Metric.F1, false).Name) "f1" "training"
            Expect.equal (Monitor.Of(Metric.F1, true).Name) "validation f1" "validation"
            Expect.equal (Monitor.Of(Metric.Accuracy, true).Name) "validationAccuracy" "validation accuracy"
            Expect.equal (Monitor.Of(Metric.Accuracy, false).Name) "accuracy" "accuracy"
            Expect.isTrue (Monitor.Of(Metric.Rmse, true).Validation) "validation rows"
        }
        test "early stopping on f1 (rising) stops two epochs after its best, at the right epoch" {
            // f1 by epoch 0.5, 0.8, 0.7, 0.75, 0.9: best at epoch 1, no better at 2 and 3: stop after epoch 3
            let f1s = [| 0.5; 0.8; 0.7; 0.75; 0.9; 0.95; 0.97; 0.98; 0.99; 1.0 |]
            // binary statistics [TP; predicted; actual] as fractions of rows: f1 = 2 TP / (predicted + actual)
            let result = fit Metric.F1 (Monitor.Of(Metric.F1, false)) (fun e -> [| f1s[e] / 2.0; 0.5; 0.5 |])
            Expect.equal result.History.Count 4 "epochs run"
            Expect.isTrue result.StoppedEarly "stopped"
            Expect.equal result.BestEpoch (System.Nullable 1) "best epoch"
            Expect.floatClose Accuracy.veryHigh result.History[1].Metrics["f1"] 0.8 "f1 of the best epoch"
        }
        test "early stopping on rmse (falling) reads the same values the other way" {
            let values = [| 0.5; 0.8; 0.7; 0.75; 0.9; 0.95; 0.97; 0.98; 0.99; 1.0 |]
            // the statistic is the mean square: rmse = its root
            let result = fit Metric.Rmse (Monitor.Of(Metric.Rmse, false)) (fun e -> [| values[e] * values[e] |])
            Expect.equal result.History.Count 3 "epochs run: 0 is best, 1 and 2 are worse"
            Expect.equal result.BestEpoch (System.Nullable 0) "best epoch"
        }
    ]
