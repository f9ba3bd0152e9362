module Nn.Tests.Runtime.Ops.ClassWeightsTests

open System
open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Execution

let private sp = SourceSpan.None
let private n = Dim.Sym "n"

/// The weighted loss of prediction `p` against target `t` (Inputs of the given shapes), in float64.
let private weighted (loss: LossKind) (weights: float list) (pShape: int list) (p: float list) (tShape: Shape)
                     (t: float list) (pre: GraphBuilder -> Node -> Node) =
    let b = GraphBuilder()
    let pred = pre b (b.Input("p", Shape(n, Dim.Of(List.last pShape)), sp))
    let target = b.Input("t", tShape, sp)
    let l = ClassWeights.Build(b, loss, pred, target, Array.ofList weights, sp)
    let g = b.Build([ KeyValuePair("loss", l) ])
    let tDims = Array.append [| pShape.Head |] [| for d in (tShape.ToArray()).[1..] -> d.Size |]
    let feeds =
        readOnlyDict [ "p", Tensor<float>.FromDoubles(Array.ofList pShape, Array.ofList p)
                       "t", Tensor<float>.FromDoubles(tDims, Array.ofList t) ]
    (ReferenceInterpreter<float>.Run(g, feeds)["loss"]).Data[0]

let private id (_: GraphBuilder) (x: Node) = x
let private logSoftmax (row: float list) =
    let m = List.max row
    let lse = m + log (row |> List.sumBy (fun z -> exp (z - m)))
    row |> List.map (fun z -> z - lse)
let private close actual expected msg = Expect.floatClose Accuracy.veryHigh actual expected msg

let private logits = [ [ 0.3; -1.2; 2.0 ]; [ 0.7; -0.4; 1.5 ]; [ 0.1; -0.5; 0.9 ] ]
let private classes = [ 2; 0; 1 ]

[<Tests>]
let tests =
    testList "Runtime.Ops.ClassWeights" [
        test "softmax cross-entropy: Σ w[y]·(−log p_y) / Σ w[y], as PyTorch's CrossEntropyLoss(weight)" {
            let w = [ 1.0; 3.0; 0.5 ]
            let terms = List.map2 (fun row y -> w[y], -(logSoftmax row)[y]) logits classes
            let expected = (terms |> List.sumBy (fun (wi, l) -> wi * l)) / (terms |> List.sumBy fst)
            let actual =
                weighted LossKind.SoftmaxCrossEntropy w [ 3; 3 ] (List.concat logits) (Shape(n))
                    (classes |> List.map float) id
            close actual expected "weighted mean"
        }
        test "equal weights give the unweighted loss, and scaling every weight changes nothing" {
            let run w =
                weighted LossKind.SoftmaxCrossEntropy w [ 3; 3 ] (List.concat logits) (Shape(n))
                    (classes |> List.map float) id
            let plain = (List.map2 (fun row y -> -(logSoftmax row)[y]) logits classes |> List.sum) / 3.0
            close (run [ 1.0; 1.0; 1.0 ]) plain "weights of 1"
            close (run [ 2.0; 6.0; 1.0 ]) (run [ 1.0; 3.0; 0.5 ]) "scaled by 2"
        }
        test "a one-hot distribution weighs as its class index" {
            let oneHot = classes |> List.collect (fun y -> List.init 3 (fun k -> if k = y then 1.0 else 0.0))
            let w = [ 0.25; 2.0; 1.0 ]
            let byIndex =
                weighted LossKind.SoftmaxCrossEntropy w [ 3; 3 ] (List.concat logits) (Shape(n))
                    (classes |> List.map float) id
            let byDistribution =
                weighted LossKind.SoftmaxCrossEntropy w [ 3; 3 ] (List.concat logits) (Shape(n, Dim.Of 3)) oneHot id
            close byDistribution byIndex "one-hot = indices"
        }
        test "crossEntropy of a softmax weighs as softmaxCrossEntropy of its logits" {
            let w = [ 1.0; 3.0; 0.5 ]
            let t = classes |> List.map float
            let ofLogits = weighted LossKind.SoftmaxCrossEntropy w [ 3; 3 ] (List.concat logits) (Shape(n)) t id
            let softmax (b: GraphBuilder) x = b.Softmax(OpKind.Softmax, x, -1, sp)
            let ofProbabilities = weighted LossKind.CrossEntropy w [ 3; 3 ] (List.concat logits) (Shape(n)) t softmax
            close ofProbabilities ofLogits "same loss"
        }
        test "binary cross-entropy: each element weighs w0 (target 0) or w1 (target 1)" {
            let p = [ 0.2; 0.9; 0.6; 0.05 ]
            let t = [ 0.0; 1.0; 1.0; 0.0 ]
            let w0, w1 = 0.5, 4.0
            let terms =
                List.map2 (fun p t -> (if t = 1.0 then w1 else w0), -(t * log p + (1.0 - t) * log (1.0 - p))) p t
            let expected = (terms |> List.sumBy (fun (w, l) -> w * l)) / (terms |> List.sumBy fst)
            close (weighted LossKind.BinaryCrossEntropy [ w0; w1 ] [ 4; 1 ] p (Shape(n)) t id) expected "weighted"
        }
        test "a batch whose rows all weigh 0 has loss 0, not NaN" {
            let actual =
                weighted LossKind.SoftmaxCrossEntropy [ 1.0; 0.0; 1.0 ] [ 1; 3 ] logits.Head (Shape(n)) [ 1.0 ] id
            Expect.equal actual 0.0 "loss"
        }
        test "a count that is not the number of classes, a negative weight or a regression loss is refused" {
            let build loss (w: float list) =
                fun () ->
                    weighted loss w [ 3; 3 ] (List.concat logits) (Shape(n)) (classes |> List.map float) id |> ignore
            Expect.throwsC (build LossKind.SoftmaxCrossEntropy [ 1.0; 2.0 ]) (fun e ->
                Expect.equal (e :?> ShapeException).Code "NN0435" "code"
                Expect.stringContains e.Message "not 2" "count")
            Expect.throwsC (build LossKind.SoftmaxCrossEntropy [ 1.0; -2.0; 1.0 ]) (fun e ->
                Expect.stringContains e.Message "negative" "negative")
            Expect.throwsC (build LossKind.Mse [ 1.0; 2.0; 1.0 ]) (fun e ->
                Expect.stringContains e.Message "`mse`" "regression")
            Expect.equal (ClassWeights.Count(LossKind.BinaryCrossEntropy, Shape(n, Dim.Of 5))) (Nullable 2) "binary"
            Expect.equal (ClassWeights.Count(LossKind.CrossEntropy, Shape(n, Dim.Of 5))) (Nullable 5) "classes"
        }
    ]
