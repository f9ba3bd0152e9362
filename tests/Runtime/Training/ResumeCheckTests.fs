/// ResumeCheck: what a checkpoint must hold before training continues from it (#16.6), and NaN weights (#16.7).
module Nn.Tests.Runtime.Training.ResumeCheckTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Ops
open Nn.Runtime.Training
open Nn.Runtime.Checkpoints

let private sp = SourceSpan.None

/// x |> dense 1 (w [2, 1], b [1]), trained with sgd and momentum: Params w, b and States w.m, b.m.
let private graphs =
    let net =
        ForwardBuilder(fun ctx ->
            let b = ctx.Builder
            let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 2), sp)
            let w = b.Param("dense1.w", Shape.Of(2, 1), InitSpec("glorot"), sp)
            b.Binary(OpKind.Add, b.MatMul(x, w, sp), b.Param("dense1.b", Shape.Of 1, InitSpec.Zeros, sp), sp))
    TrainStep.Build(
        net,
        TrainSpec(Loss = LossKind.Mse, Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.1, Momentum = 0.9))
    )

let private values () =
    Dictionary<string, HostTensor>(
        dict [ "dense1.w", HostTensor([| 2; 1 |], [| 0.5f; -0.5f |]); "dense1.b", HostTensor([| 1 |], [| 0f |])
               "dense1.w.m", HostTensor([| 2; 1 |], [| 0f; 0f |]); "dense1.b.m", HostTensor([| 1 |], [| 0f |]) ])

/// A TrainingState's fields, so tests can change one (`{ good with Steps = -5L }`).
type private S =
    { EpochsDone: int; Steps: int64; Values: Dictionary<string, HostTensor>; ShuffleRng: uint64[]
      Schedule: float[]; Stopping: float[]; BestValues: Dictionary<string, HostTensor> }
    member s.State = TrainingState(s.EpochsDone, s.Steps, s.Values, s.ShuffleRng, s.Schedule, s.Stopping, s.BestValues)

/// A valid state after 3 epochs of 2 steps.
let private good =
    { EpochsDone = 3; Steps = 6L; Values = values (); ShuffleRng = [| 1UL; 2UL; 3UL; 4UL |]
      Schedule = [| 1.0; nan; 0.0 |]; Stopping = null; BestValues = null }

let private path = "/runs/xor/r/checkpoint.safetensors"

let private rejected (s: S) =
    try
        ResumeCheck.Check(s.State, graphs, path)
        failtest "expected a DataException"
    with :? DataException as e ->
        Expect.equal e.FilePath path "names the file"
        e.Code, e.Message

let private without (name: string) =
    let v = values ()
    v.Remove name |> ignore
    v

[<Tests>]
let tests =
    testList "Runtime.Training.ResumeCheck" [
        test "a state the trainer wrote passes, with early stopping and best weights too" {
            ResumeCheck.Check(good.State, graphs, path)
            ResumeCheck.Check({ good with Stopping = [| 0.25; 2.0; 0.0 |]; BestValues = values () }.State, graphs, path)
            ResumeCheck.Check(
                { good with EpochsDone = 0; Steps = 0L; Stopping = [| nan; -1.0; 0.0 |] }.State,
                graphs,
                path
            )
        }
        test "the graphs have the parameters and optimizer slots the tests name" {
            let names = Seq.append graphs.Params graphs.States |> Seq.map (fun n -> n.Name) |> Set.ofSeq
            Expect.equal names (Set.ofList [ "dense1.w"; "dense1.b"; "dense1.w.m"; "dense1.b.m" ]) "names"
        }
        test "a missing weight is NN0708, never re-initialised" {
            Expect.equal (rejected { good with Values = without "dense1.w" })
                ("NN0708",
                 "checkpoint.safetensors: cannot resume: it has no `dense1.w` (a parameter of the network); "
                 + "it was written for another network or other settings (optimizer, layers), or it is damaged")
                "message"
        }
        test "a missing optimizer tensor is NN0708 naming the slot" {
            Expect.equal (rejected { good with Values = without "dense1.b.m" })
                ("NN0708",
                 "checkpoint.safetensors: cannot resume: it has no `dense1.b.m` "
                 + "(the optimizer's `m` slot of `dense1.b`); "
                 + "it was written for another network or other settings (optimizer, layers), or it is damaged")
                "message"
        }
        test "a tensor the step does not have, another shape, incomplete best weights: NN0708" {
            let extra = values ()
            extra["dense1.w.v"] <- HostTensor([| 2; 1 |], [| 0f; 0f |])
            Expect.equal (rejected { good with Values = extra })
                ("NN0708",
                 "checkpoint.safetensors: cannot resume: it holds `dense1.w.v`, which the training step does not have "
                 + "(it was written for another network or other settings, such as another optimizer)")
                "extra"
            let wide = values ()
            wide["dense1.b"] <- HostTensor([| 2 |], [| 0f; 0f |])
            Expect.equal (rejected { good with Values = wide })
                ("NN0708",
                 "checkpoint.safetensors: cannot resume: `dense1.b` is [2] in the file, but the network's is [1]")
                "shape"
            Expect.equal (fst (rejected { good with BestValues = without "dense1.w" })) "NN0708" "best weights"
        }
        test "a NaN or infinite weight, moment or best weight is NN0710 naming the tensor and element" {
            let bad = values ()
            bad["dense1.w.m"] <- HostTensor([| 2; 1 |], [| 0f; infinityf |])
            Expect.equal (rejected { good with Values = bad })
                ("NN0710",
                 "checkpoint.safetensors: `dense1.w.m` holds infinity at [1, 0] (1 of its 2 values are not finite); "
                 + "these weights come from a run that diverged or from a damaged file")
                "message"
            let best = values ()
            best["dense1.b"] <- HostTensor([| 1 |], [| nanf |])
            Expect.equal
                (rejected { good with BestValues = best } |> snd |> fun m -> m.Contains "`best:dense1.b` holds NaN")
                true
                "best"
        }
        test "negative epoch or step, fewer steps than epochs: NN0711" {
            let cases =
                [ { good with EpochsDone = -1 }, "its epoch is -1, but it counts finished epochs (0 or more)"
                  { good with Steps = -5L }, "its step is -5, but it counts the steps taken (0 or more)"
                  { good with Steps = 2L },
                  "it records 3 finished epochs but only 2 steps (every epoch takes at least one step)" ]
            for state, message in cases do
                Expect.equal (rejected state) ("NN0711", "checkpoint.safetensors: cannot resume: " + message) message
        }
        test "an empty or malformed rng, schedule or early-stopping record: NN0711" {
            let cases =
                [ { good with ShuffleRng = [||] },
                  "its shuffling state (`rng`) has 0 words, but the generator's state is 4 words"
                  { good with ShuffleRng = [| 0UL; 0UL; 0UL; 0UL |] },
                  "its shuffling state (`rng`) is all zeros, a state the generator never reaches"
                  { good with Schedule = [||] },
                  "its `schedule` record has 0 numbers, but it holds 3 (scale, best value and wait count)"
                  { good with Schedule = [| 0.0; nan; 0.0 |] },
                  "its schedule's rate scale is 0, but it is a positive number"
                  { good with Schedule = [| 1.0; nan; 1.5 |] },
                  "its schedule's wait count is 1.5, but it is a whole number (0 or more)"
                  { good with Stopping = [| 1.0 |] },
                  "its `early_stopping` record has 1 number, but it holds 3 (best value, best epoch and wait count)"
                  { good with Stopping = [| 1.0; 3.0; 0.0 |] },
                  "its early stopping's best epoch is 3, but it is a finished epoch (0 to 2) or -1"
                  { good with Stopping = [| 1.0; 0.0; -1.0 |] },
                  "its early stopping's wait count is -1, but it is a whole number (0 or more)" ]
            for state, message in cases do
                Expect.equal (rejected state) ("NN0711", "checkpoint.safetensors: cannot resume: " + message) message
        }
        test "RequireFinite passes finite tensors and names a scalar's only element" {
            ResumeCheck.RequireFinite(path, "w", HostTensor([| 2 |], [| 1f; -1f |]))
            try
                ResumeCheck.RequireFinite(path, "t", HostTensor([||], [| -infinityf |]))
                failtest "expected a DataException"
            with :? DataException as e ->
                Expect.equal e.Code "NN0710" "code"
                Expect.stringContains e.Message "`t` holds -infinity at its only element" "message"
        }
    ]
