module Nn.Tests.Runtime.Ops.LossGradientTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Autodiff
open Nn.Runtime.Execution
open Nn.Runtime.Util

let private sp = SourceSpan.None

/// Checks d loss / d z along a random direction against central differences in float64 (JAX's check_grads).
/// `pre` maps the Param z to the prediction (identity, sigmoid, softmax); the target is a fixed Input.
let private check name (zShape: int list) (z0: float[]) (tShape: int list) (t: float[]) pre loss =
    test name {
        let b = GraphBuilder()
        let z = b.Param("z", Shape.Of(Array.ofList zShape), InitSpec.Zeros, sp)
        let target = b.Input("t", Shape.Of(Array.ofList tShape), sp)
        let l: Node = loss b (pre b z) target
        let grad = (Backward.Gradients(b, l, [| z |])).[0]
        let g = b.Build([ KeyValuePair("loss", l); KeyValuePair("grad", grad) ])
        let run (zs: float[]) =
            ReferenceInterpreter<float>.Run(
                g,
                readOnlyDict
                    [ "z", Tensor<float>(Array.ofList zShape, zs)
                      "t", Tensor<float>(Array.ofList tShape, t) ]
            )
        let rng = Rng(11UL)
        let v = Array.init z0.Length (fun _ -> rng.NextNormal())
        let h = 1e-6
        let lossAt s = (run (Array.map2 (fun a d -> a + s * d) z0 v)).["loss"].Data[0]
        let numeric = (lossAt h - lossAt -h) / (2.0 * h)
        let analytic = Array.fold2 (fun acc a d -> acc + a * d) 0.0 ((run z0).["grad"].Data) v
        Expect.floatClose { absolute = 1e-7; relative = 1e-6 } analytic numeric "directional derivative"
    }

let private id (_: GraphBuilder) (z: Node) = z
let private sigmoid (b: GraphBuilder) z = b.Unary(OpKind.Sigmoid, z, sp)
let private softmax (b: GraphBuilder) z = b.Softmax(OpKind.Softmax, z, -1, sp)
let private z6 = [| 0.3; -1.2; 2.0; 0.7; -0.4; 1.5 |]
let private t6 = [| 0.0; -1.0; 1.0; 2.0; 0.5; 0.1 |]

[<Tests>]
let tests =
    testList "Runtime.Ops.LossGradients" [
        check "mse" [ 3; 2 ] z6 [ 3; 2 ] t6 id (fun b p t -> Losses.Mse(b, p, t, sp))
        check "mae" [ 3; 2 ] z6 [ 3; 2 ] t6 id (fun b p t -> Losses.Mae(b, p, t, sp))
        check "huber, both branches" [ 3; 2 ] z6 [ 3; 2 ] t6 id (fun b p t -> Losses.Huber(b, p, t, sp, 0.6))
        check "binary cross-entropy of probabilities" [ 4; 1 ] [| 0.2; 0.9; 0.6; 0.05 |]
            [ 4; 1 ] [| 0.0; 1.0; 1.0; 0.0 |] id
            (fun b p t -> Losses.BinaryCrossEntropy(b, p, t, sp))
        check "binary cross-entropy through a sigmoid" [ 4; 1 ] [| -2.0; 0.5; 3.0; 0.1 |]
            [ 4; 1 ] [| 0.0; 1.0; 1.0; 0.0 |] sigmoid
            (fun b p t -> Losses.BinaryCrossEntropy(b, p, t, sp))
        check "softmax cross-entropy with class indices" [ 2; 3 ] z6 [ 2 ] [| 2.0; 0.0 |] id
            (fun b p t -> Losses.SoftmaxCrossEntropy(b, p, t, sp))
        check "softmax cross-entropy with a distribution" [ 2; 3 ] z6 [ 2; 3 ] [| 0.2; 0.3; 0.5; 0.0; 1.0; 0.0 |] id
            (fun b p t -> Losses.SoftmaxCrossEntropy(b, p, t, sp))
        check "cross-entropy through a softmax" [ 2; 3 ] z6 [ 2; 1 ] [| 1.0; 2.0 |] softmax
            (fun b p t -> Losses.CrossEntropy(b, p, t, sp))
        check "cross-entropy of probabilities" [ 2; 3 ] [| 0.2; 0.3; 0.5; 0.6; 0.3; 0.1 |] [ 2 ] [| 1.0; 0.0 |] id
            (fun b p t -> Losses.CrossEntropy(b, p, t, sp))
        // class weights: the weighted sum over the rows divided by the rows' weights
        let weighted (loss: LossKind) (w: float list) =
            fun b p t -> ClassWeights.Build(b, loss, p, t, Array.ofList w, sp)
        check "softmax cross-entropy with class weights and indices" [ 3; 3 ] [| yield! z6; 0.1; -0.5; 0.9 |]
            [ 3 ] [| 2.0; 0.0; 1.0 |] id (weighted LossKind.SoftmaxCrossEntropy [ 1.0; 3.0; 0.5 ])
        check "softmax cross-entropy with class weights and a distribution" [ 2; 3 ] z6
            [ 2; 3 ] [| 0.2; 0.3; 0.5; 0.0; 1.0; 0.0 |] id (weighted LossKind.SoftmaxCrossEntropy [ 2.0; 0.5; 1.0 ])
        check "cross-entropy through a softmax with class weights" [ 2; 3 ] z6 [ 2; 1 ] [| 1.0; 2.0 |] softmax
            (weighted LossKind.CrossEntropy [ 0.2; 1.0; 4.0 ])
        check "cross-entropy of probabilities with class weights" [ 2; 3 ] [| 0.2; 0.3; 0.5; 0.6; 0.3; 0.1 |]
            [ 2 ] [| 1.0; 0.0 |] id (weighted LossKind.CrossEntropy [ 1.5; 0.5; 1.0 ])
        check "binary cross-entropy through a sigmoid with class weights" [ 4; 1 ] [| -2.0; 0.5; 3.0; 0.1 |]
            [ 4; 1 ] [| 0.0; 1.0; 1.0; 0.0 |] sigmoid (weighted LossKind.BinaryCrossEntropy [ 1.0; 4.0 ])
        check "binary cross-entropy of probabilities with class weights" [ 4; 1 ] [| 0.2; 0.9; 0.6; 0.05 |]
            [ 4 ] [| 0.0; 1.0; 1.0; 0.0 |] id (weighted LossKind.BinaryCrossEntropy [ 0.3; 2.0 ])
    ]
