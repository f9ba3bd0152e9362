/// The gradient through time of `nn grad` (Gradients.compute's `Steps`, Gradients.judgeSteps): the norm of the
/// loss's gradient with respect to a sequence input [n, t, f] at each step, against a hand computation on a one-unit
/// RNN and against float64 finite differences of the loss on a small one; then the verdict, first step against last.
module Nn.Tests.Compiler.GradientsStepsTests

open System.Collections.Generic
open Expecto
open Nn.Runtime.Data
open Nn.Runtime.Execution
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Tests.TestUtil

/// The rows come from the test (TrainPlan.createWith), so `data` is only a placeholder here.
let private trainBlock =
    "\n\ntrain t {\n    data      = rows [ [0], [0] ]\n    loss      = mse\n    optimizer = sgd { lr = 0.01 }\n}\n"

let private plan (program: string) (x: HostTensor) (y: HostTensor) =
    let c = compiledText (program + trainBlock)
    TrainPlan.createWith c c.Trains.Head (Some(Dataset(x, y)))

let private tensor (shape: int[]) (data: float list) = HostTensor(shape, data |> List.map float32 |> Array.ofList)

let private close what (actual: float list) (expected: float list) =
    Expect.equal actual.Length expected.Length (what + ": steps")
    List.iteri2
        (fun i (a: float) (e: float) ->
            Expect.isLessThanOrEqual (abs (a - e)) (1e-9 + 1e-4 * abs e) (sprintf "%s: step %d (%g vs %g)" what i a e))
        actual expected

let private steps (norms: float list) : Gradients.StepGradients = { Input = "x"; Shape = "[n, 4, 1]"; Norms = norms }

[<Tests>]
let tests =
    testList "Compiler.Gradients.Steps" [
        test "a one-unit RNN over 3 steps: the norms are the chain rule's, computed by hand" {
            let program = "network t (x: [n, 3, 1]) : [n, 1] =\n    x |> rnn 1 |> lastStep"
            let xs = [ [ 0.5; -0.3; 0.8 ]; [ -1.0; 0.2; 0.4 ] ]
            let ys = [ 0.2; -0.7 ]
            let p = plan program (tensor [| 2; 3; 1 |] (List.concat xs)) (tensor [| 2; 1 |] ys)
            let a, w, beta = 0.9, -1.3, 0.1
            let values = Dictionary<string, HostTensor>(p.Initial)
            values["rnn1.wx"] <- tensor [| 1; 1 |] [ a ]
            values["rnn1.wh"] <- tensor [| 1; 1 |] [ w ]
            values["rnn1.b"] <- tensor [| 1 |] [ beta ]
            // h1 = tanh(a·x1 + β), h_s = tanh(a·x_s + β + w·h_{s−1}); L = mean over the 2 rows of (h3 − y)²
            let perRow (x: float list) (y: float) =
                let h1 = tanh (a * x[0] + beta)
                let h2 = tanh (a * x[1] + beta + w * h1)
                let h3 = tanh (a * x[2] + beta + w * h2)
                let d3 = 2.0 * (h3 - y) / 2.0 * (1.0 - h3 * h3)   // dL/d(pre-activation of step 3)
                let d2 = d3 * w * (1.0 - h2 * h2)
                let d1 = d2 * w * (1.0 - h1 * h1)
                [ d1 * a; d2 * a; d3 * a ]
            let grads = List.map2 perRow xs ys
            let expected = [ for s in 0..2 -> sqrt (grads |> List.sumBy (fun g -> g[s] * g[s])) ]
            let report = Gradients.compute p values 2
            Expect.equal (report.Steps |> List.map (fun s -> s.Input, s.Shape)) [ "x", "[n, 3, 1]" ] "one sequence"
            close "by hand" report.Steps.Head.Norms expected
        }

        test "an RNN of 3 units over [3, 5, 2]: the norms equal float64 finite differences of the loss" {
            let program = "network t (x: [n, 5, 2]) : [n, 1] =\n    x |> rnn 3 |> lastStep |> dense 1"
            let rng = Nn.Runtime.Util.Rng(11UL)
            let x = HostTensor([| 3; 5; 2 |], Array.init 30 (fun _ -> float32 (rng.NextNormal())))
            let y = HostTensor([| 3; 1 |], [| 0.5f; -0.25f; 1.0f |])
            let p = plan program x y
            let report = Gradients.compute p p.Initial 3
            // the loss graph run in float64 at x ± h along each element
            let gg = Gradients.graph p.Network p.Graphs.Spec
            let feeds = Dictionary<string, Tensor<float>>()
            for KeyValue(k, v) in p.Initial do feeds[k] <- Tensor<float>(v.Shape, v.Data |> Array.map float)
            feeds[TrainStep.TargetInput] <- Tensor<float>(y.Shape, y.Data |> Array.map float)
            let loss (xs: float[]) =
                feeds["x"] <- Tensor<float>(x.Shape, xs)
                let r = ReferenceInterpreter<float>.Run(gg.Graph, feeds, RunOptions(Seed = 0UL, Step = 1L))
                r["loss"].Data[0]
            let x0 = x.Data |> Array.map float
            let h = 1e-6
            let fd =
                Array.init x0.Length (fun i ->
                    let at d = loss (Array.mapi (fun j v -> if j = i then v + d else v) x0)
                    (at h - at -h) / (2.0 * h))
            let expected = Gradients.stepNorms [| 3; 5; 2 |] (Array.map float32 fd)
            close "finite differences" report.Steps.Head.Norms expected
            Expect.isGreaterThan (List.head expected) 0.0 "the first step moves the loss"
        }

        test "no gradient through time without a sequence: two axes, or three read whole (an image)" {
            let p = plan "network t (x: [n, 2]) : [n, 1] =\n    x |> dense 1" (tensor [| 1; 2 |] [ 1.0; 2.0 ])
                         (tensor [| 1; 1 |] [ 0.0 ])
            Expect.isEmpty (Gradients.compute p p.Initial 1).Steps "two axes"
            let p = plan "network t (x: [n, 3, 2]) : [n, 1] =\n    x |> flatten |> dense 1"
                         (tensor [| 1; 3; 2 |] [ 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 ]) (tensor [| 1; 1 |] [ 0.0 ])
            Expect.isEmpty (Gradients.compute p p.Initial 1).Steps "no step taken apart"
        }

        test "the verdict: first step against last, with the per-layer limits (1/100 and 100), and the trend" {
            let v = Gradients.judgeSteps (steps [ 1e-6; 1e-4; 1e-2; 1.0 ])
            Expect.equal v.State Gradients.Vanishing "vanishing"
            Expect.floatClose Accuracy.veryHigh v.FirstOfLast.Value 1e-6 "first of last"
            Expect.floatClose Accuracy.veryHigh v.PerStep.Value 0.01 "÷100 per step towards the first"
            Expect.equal (Gradients.judgeSteps (steps [ 0.01; 0.5; 1.0; 1.0 ])).State Gradients.Healthy
                "1/100 is not below 1/100"
            Expect.equal (Gradients.judgeSteps (steps [ 101.0; 1.0; 1.0; 1.0 ])).State Gradients.Exploding "above 100"
            Expect.equal (Gradients.judgeSteps (steps [ 1.0; nan; 1.0; 1.0 ])).State Gradients.Exploding "not finite"
            let v = Gradients.judgeSteps (steps [ 1.0; 1.0; 1.0; 0.0 ])
            Expect.isNone v.FirstOfLast "no ratio to a last step without gradient"
            Expect.equal v.State Gradients.Healthy "not judged"
        }
    ]
