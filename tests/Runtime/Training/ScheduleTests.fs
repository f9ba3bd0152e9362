module Nn.Tests.Runtime.Training.ScheduleTests

open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Ops
open Nn.Runtime.Training
open Nn.Runtime.Execution

let private close actual expected msg = Expect.floatClose Accuracy.veryHigh actual expected msg

let private plateau = ScheduleKind.ReduceOnPlateau
let private stepDecay = ScheduleKind.StepDecay

[<Tests>]
let tests =
    testList "Runtime.Training.Schedules" [
        test "constant" {
            let s = Schedule.Create(ScheduleSpec.Constant, 0.1, 10, 5)
            for e in 0..9 do close (s.LearningRate(e, 3)) 0.1 "lr"
        }
        test "stepDecay { every = 5; factor = 0.5 } halves every 5 epochs" {
            let s = Schedule.Create(ScheduleSpec(Kind = ScheduleKind.StepDecay, Every = 5, Factor = 0.5), 0.05, 20, 10)
            let rates = [ for e in [ 0; 4; 5; 9; 10; 19 ] -> s.LearningRate(e, 0) ]
            List.iter2 (fun a e -> close a e "lr") rates [ 0.05; 0.05; 0.025; 0.025; 0.0125; 0.00625 ]
        }
        test "exponential { rate } multiplies per epoch" {
            let s = Schedule.Create(ScheduleSpec(Kind = ScheduleKind.Exponential, Rate = 0.9), 1.0, 10, 4)
            close (s.LearningRate(0, 2)) 1.0 "epoch 0"
            close (s.LearningRate(3, 0)) 0.729 "epoch 3"
        }
        test "cosine { warmup = 1 } ramps up linearly over the first epoch then decays to min" {
            // 4 epochs of 10 steps: warm-up steps 0..9, then 30 steps of half cosine.
            let s = Schedule.Create(ScheduleSpec(Kind = ScheduleKind.Cosine, Warmup = 1.0, Min = 0.001), 0.1, 4, 10)
            close (s.LearningRate(0, 0)) 0.01 "first step: lr/10"
            close (s.LearningRate(0, 9)) 0.1 "end of warm-up"
            close (s.LearningRate(1, 0)) 0.1 "cosine starts at lr"
            close (s.LearningRate(2, 5)) (0.001 + 0.5 * 0.099 * (1.0 + cos (System.Math.PI * 15.0 / 30.0))) "halfway"
            let last = s.LearningRate(3, 9)
            close last (0.001 + 0.5 * 0.099 * (1.0 + cos (System.Math.PI * 29.0 / 30.0))) "last step"
            Expect.isLessThan last 0.0015 "near min"
        }
        test "cosine without warm-up starts at lr" {
            let s = Schedule.Create(ScheduleSpec(Kind = ScheduleKind.Cosine), 0.2, 2, 5)
            close (s.LearningRate(0, 0)) 0.2 "first"
            close (s.LearningRate(1, 0)) 0.1 "half way (min 0)"
        }
        test "warmup { 2 epochs } then constant" {
            let s = Schedule.Create(ScheduleSpec(Kind = ScheduleKind.Warmup, Warmup = 2.0), 0.1, 5, 4)
            close (s.LearningRate(0, 0)) 0.0125 "1/8"
            close (s.LearningRate(1, 3)) 0.1 "8/8"
            close (s.LearningRate(4, 2)) 0.1 "after"
        }
        test "reduceOnPlateau { factor = 0.5; patience = 2 } reduces after two epochs without improvement" {
            let s = Schedule.Create(ScheduleSpec(Kind = plateau, Factor = 0.5, Patience = 2), 0.1, 20, 3)
            let rates =
                [ for loss in [ 1.0; 0.9; 0.95; 0.92; 0.91; 0.8; 0.85; 0.85 ] do
                    s.EpochEnded loss
                    yield s.LearningRate(0, 0) ]
            List.iter2 (fun a e -> close a e "lr") rates [ 0.1; 0.1; 0.1; 0.05; 0.05; 0.05; 0.05; 0.025 ]
        }
        test (
            "reduceOnPlateau { monitor = accuracy } waits for accuracy to stop rising; "
            + "on a loss the same rise is a plateau"
        ) {
            let rates monitor =
                let s =
                    Schedule.Create(
                        ScheduleSpec(Kind = plateau, Factor = 0.5, Patience = 1, Monitor = monitor),
                        0.1,
                        20,
                        3
                    )
                [ for acc in [ 0.5; 0.6; 0.7; 0.7 ] do
                    s.EpochEnded acc
                    yield s.LearningRate(0, 0) ]
            List.iter2 (fun a e -> close a e "lr") (rates Monitor.Accuracy) [ 0.1; 0.1; 0.1; 0.05 ]
            List.iter2 (fun a e -> close a e "lr") (rates Monitor.ValidationAccuracy) [ 0.1; 0.1; 0.1; 0.05 ]
            List.iter2 (fun a e -> close a e "lr") (rates Monitor.Loss) [ 0.1; 0.05; 0.025; 0.0125 ]
            Expect.isNull (Monitor.Find "lossy") "an unknown monitor has no value"
            Expect.throwsT<System.ArgumentException>
                (fun () ->
                    Schedule.Create(ScheduleSpec(Kind = plateau, Monitor = null), 0.1, 20, 3) |> ignore)
                "no monitor"
        }
        test (
            "the trainer feeds reduceOnPlateau the monitored series: "
            + "the training loss falls while the validation loss rises"
        ) {
            let sp = SourceSpan.None
            let n = Dim.Sym "n"
            // y = x @ w from w = 0, trained towards y = 2x; the validation rows want y = -2x, so their loss rises
            // each epoch.
            let linear =
                ForwardBuilder(fun ctx ->
                    let b = ctx.Builder
                    let x = b.Input("x", Shape(n, Dim.Of 1), sp)
                    b.MatMul(x, b.Param("w", Shape.Of(1, 1), InitSpec("constant", 0.0), sp), sp))
            let rows sign =
                let xs = Array.init 8 (fun i -> float32 (i + 1) / 8f)
                Dataset(HostTensor([| 8; 1 |], xs), HostTensor([| 8; 1 |], xs |> Array.map (fun x -> sign * 2f * x)))
            let run monitor =
                let graphs =
                    TrainStep.Build(
                        linear,
                        TrainSpec(Loss = LossKind.Mse, Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.1))
                    )
                let exec = ReferenceExecutor.FromSeed(graphs, 1UL)
                let schedule = ScheduleSpec(Kind = plateau, Factor = 0.5, Patience = 1, Monitor = monitor)
                let result =
                    Trainer.Fit(
                        graphs,
                        exec,
                        rows 1f,
                        rows -1f,
                        TrainOptions(Epochs = 5, Batch = 8, Seed = 1UL, Schedule = schedule)
                    )
                let history = List.ofSeq result.History
                history |> List.pairwise |> List.iter (fun (a, b) ->
                    Expect.isLessThan b.TrainLoss a.TrainLoss "the training loss falls"
                    Expect.isGreaterThan b.ValidationLoss.Value a.ValidationLoss.Value "the validation loss rises")
                history |> List.map (fun r -> r.LearningRate)
            List.iter2 (fun a e -> close a e "lr") (run Monitor.Loss) [ 0.1; 0.1; 0.1; 0.1; 0.1 ]
            List.iter2 (fun a e -> close a e "lr") (run Monitor.ValidationLoss) [ 0.1; 0.1; 0.05; 0.025; 0.0125 ]
        }
        test "reduceOnPlateau state survives a checkpoint" {
            let s = Schedule.Create(ScheduleSpec(Kind = plateau, Factor = 0.5, Patience = 1), 0.1, 20, 3)
            s.EpochEnded 1.0
            s.EpochEnded 2.0
            let saved = s.State
            let t = Schedule.Create(ScheduleSpec(Kind = plateau, Factor = 0.5, Patience = 1), 0.1, 20, 3)
            t.Restore saved
            close (t.LearningRate(0, 0)) 0.05 "restored scale"
        }
        test "reduceOnPlateau { min } never goes below min (Keras' min_lr); a base rate at or below it is left alone" {
            let rates factor floor baseLr =
                let s =
                    Schedule.Create(
                        ScheduleSpec(
                            Kind = plateau,
                            Factor = System.Nullable factor,
                            Patience = 1,
                            Min = floor
                        ),
                        baseLr,
                        40,
                        3
                    )
                [ for _ in 1..20 -> s.EpochEnded 1.0; s.LearningRate(0, 0) ]
            let r = rates 0.1 1e-3 0.1
            List.iter2 (fun a e -> close a e "lr") (List.take 4 r) [ 0.1; 0.01; 1e-3; 1e-3 ]
            Expect.equal (List.last r) 1e-3 "exactly min after many plateaus (today 1e-21)"
            let r = rates 0.5 0.03 0.1
            List.iter2 (fun a e -> close a e "lr") (List.take 5 r) [ 0.1; 0.05; 0.03; 0.03; 0.03 ]
            Expect.equal (rates 0.1 1e-3 1e-4 |> List.distinct) [ 1e-4 ] "below min from the start: unchanged"
            Expect.isLessThan (List.last (rates 0.1 0.0 0.1)) 1e-15 "the default min 0 keeps reducing, as Keras"
            Expect.throwsC
                (fun () -> Schedule.Create(ScheduleSpec(Kind = plateau, Min = -1.0), 0.1, 1, 1) |> ignore)
                (fun e -> Expect.stringContains e.Message "`min`" "field")
        }
        test "bad fields are rejected naming them" {
            Expect.throwsC (fun () -> Schedule.Create(ScheduleSpec(Kind = stepDecay, Every = 0), 0.1, 1, 1) |> ignore)
                (fun e -> Expect.stringContains e.Message "every" "field")
            Expect.throwsC (fun () -> Schedule.Create(ScheduleSpec(Kind = null), 0.1, 1, 1) |> ignore)
                (fun e -> Expect.stringContains e.Message "Kind" "kind")
        }
        test "schedules are types: names found once, the language's names without constant" {
            Expect.isNull (ScheduleKind.Find "linear") "an unknown name"
            Expect.equal (ScheduleKind.Find "cosine") ScheduleKind.Cosine "a known one"
            Expect.equal (List.ofSeq ScheduleKind.Names)
                [ "stepDecay"; "exponential"; "cosine"; "warmup"; "reduceOnPlateau" ] "the language's names"
            Expect.equal (List.ofSeq ScheduleKind.StepDecay.Settings) [ "every"; "factor" ] "settings"
        }
        test "early stopping: losses must fall, accuracies rise; stops after `patience` epochs without improvement" {
            let s = EarlyStopping(EarlyStoppingSpec(Monitor = Monitor.ValidationLoss, Patience = 2))
            Expect.isTrue (s.Observe(0, 1.0)) "first is best"
            Expect.isTrue (s.Observe(1, 0.5)) "better"
            Expect.isFalse (s.Observe(2, 0.6)) "worse"
            Expect.isFalse s.ShouldStop "one epoch of patience left"
            Expect.isFalse (s.Observe(3, nan)) "NaN never improves"
            Expect.isTrue s.ShouldStop "stop"
            Expect.equal s.BestEpoch 1 "best epoch"
            let a = EarlyStopping(EarlyStoppingSpec(Monitor = Monitor.ValidationAccuracy, Patience = 1))
            a.Observe(0, 0.5) |> ignore
            Expect.isTrue (a.Observe(1, 0.7)) "accuracy up is better"
            Expect.isFalse (a.Observe(2, 0.6)) "accuracy down is worse"
            Expect.isTrue a.ShouldStop "patience 1"
        }
    ]
