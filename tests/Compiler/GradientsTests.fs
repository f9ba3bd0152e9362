/// The verdict of `nn grad` (Gradients.judge): every weight layer judged by its gradient norm, value norm, their
/// ratio and its gradient norm against the last layer's, plus the trend with depth.
module Nn.Tests.Compiler.GradientsTests

open Expecto
open Nn.Runtime.Data
open Nn.Compiler

/// A report of weight layers [k, k] with the given gradient and value norms, input side first, and a bias after each.
let private report (layers: (float * float) list) : Gradients.Report =
    let param name (shape: int[]) (g, v) : Gradients.ParamGradient =
        { Name = name; Shape = shape; Gradient = HostTensor.Zeros shape; GradNorm = g; ValueNorm = v }
    { Loss = 1.0
      Rows = 8
      Steps = []
      Params =
        layers |> List.mapi (fun i gv ->
            [ param (sprintf "dense%d.w" (i + 1)) [| 4; 4 |] gv
              param (sprintf "dense%d.b" (i + 1)) [| 4 |] (1e9, 0.0) ])
        |> List.concat }

let private states (v: Gradients.Verdict) = v.Layers |> List.map (fun l -> l.Param.Name, l.State)

[<Tests>]
let tests =
    testList "Compiler.Gradients" [
        test "equal gradient norms at both ends still explode when |grad|/|value| is far above 1 in every layer" {
            // the issue's 8 ReLU layers with `normal 1.0` weights: first and last alike, ratios 1e4 and more
            let v = Gradients.judge (report [ for i in 1..9 -> 3e7 + float i, 1e2 ])
            Expect.equal v.Exploding.Length 9 "every weight layer"
            Expect.isTrue (v.Layers |> List.forall (fun l -> l.Ratio.Value > 1e5)) "ratios"
            Expect.isEmpty v.Vanishing "none vanishing"
        }
        test "every layer is judged: a middle layer whose gradient vanishes is named, the ends are healthy" {
            let v = Gradients.judge (report [ 1.0, 10.0; 1e-3, 10.0; 2.0, 10.0 ])
            Expect.equal (states v)
                [ "dense1.w", Gradients.Healthy; "dense2.w", Gradients.Vanishing; "dense3.w", Gradients.Healthy ]
                "states"
            Expect.floatClose Accuracy.veryHigh v.Layers[1].OfLast.Value 5e-4 "against the last layer's"
        }
        test "gradients that grow towards the input are exploding in the layers above 100 times the last's" {
            let v = Gradients.judge (report [ 1e3, 1e3; 1e2, 1e3; 10.0, 1e3; 1.0, 1e3 ])
            Expect.equal (states v)
                [ "dense1.w", Gradients.Exploding; "dense2.w", Gradients.Healthy; "dense3.w", Gradients.Healthy
                  "dense4.w", Gradients.Healthy ] "states (100 times is not above 100)"
            Expect.floatClose Accuracy.veryHigh v.PerLayer.Value 10.0 "×10 per layer towards the input"
        }
        test (
            "shrinking towards the input: the trend and the vanishing layers; "
            + "biases and zero weights are not judged by ratio"
        ) {
            let v = Gradients.judge (report [ 1e-4, 0.0; 1e-3, 1.0; 1e-2, 1.0; 1e-1, 1.0; 1.0, 1.0 ])
            Expect.equal
                (v.Vanishing |> List.map (fun l -> l.Param.Name))
                [ "dense1.w"; "dense2.w" ]
                "below 1/100 (1/100 is not)"
            Expect.equal v.Layers.Length 5 "only weight layers"
            Expect.isNone v.Layers[0].Ratio "an all-zero value has no ratio"
            Expect.floatClose Accuracy.veryHigh v.PerLayer.Value 0.1 "÷10 per layer towards the input"
        }
        test "a non-finite gradient is exploding; a single healthy layer is healthy" {
            let v = Gradients.judge (report [ infinity, 1.0; 1.0, 1.0 ])
            Expect.equal v.Layers[0].State Gradients.Exploding "infinite"
            Expect.equal (states (Gradients.judge (report [ 0.5, 1.0 ]))) [ "dense1.w", Gradients.Healthy ] "one layer"
        }
    ]
