module Nn.Tests.Runtime.Ops.MetricTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Execution

let private sp = SourceSpan.None
let private n = Dim.Sym "n"

let private accuracy (pShape: Shape) (tShape: Shape) pre (p: Tensor<float>) (t: Tensor<float>) =
    let b = GraphBuilder()
    let pred = pre b (b.Input("p", pShape, sp))
    let acc = Metrics.Accuracy(b, pred, b.Input("t", tShape, sp), sp)
    let g = b.Build([ KeyValuePair("acc", acc) ])
    (ReferenceInterpreter<float>.Run(g, readOnlyDict [ "p", p; "t", t ])["acc"]).Data[0]

let private id (_: GraphBuilder) (x: Node) = x

/// A metric over batches of (prediction, target) as the trainer computes it over an epoch: each batch's statistics
/// from the reference interpreter, added up by the metric's total.
let private measure (m: Metric) (pShape: Shape) (tShape: Shape) (batches: (Tensor<float> * Tensor<float>) list) =
    let b = GraphBuilder()
    let stats = m.Build(b, b.Input("p", pShape, sp), b.Input("t", tShape, sp), sp)
    let g = b.Build([ KeyValuePair("s", stats) ])
    let total = m.NewTotal()
    for p, t in batches do
        let s = (ReferenceInterpreter<float>.Run(g, readOnlyDict [ "p", p; "t", t ])["s"]).Data |> Array.map float
        total.Add(System.ReadOnlySpan<float>(s), p.Shape[0])
    total.Value
let private t shape xs = Tensor<float>.FromDoubles(Array.ofList shape, Array.ofList xs)

[<Tests>]
let tests =
    testList "Runtime.Ops.Metrics" [
        test "multi-class accuracy compares the arg-max with class indices [n] and [n, 1]" {
            let logits = t [ 4; 3 ] [ 0.1; 0.5; 0.2;  3.0; 1.0; 0.0;  0.0; 0.0; 1.0;  1.0; 2.0; 0.5 ]
            // arg-max: 1, 0, 2, 1
            Expect.equal
                (accuracy (Shape(n, Dim.Of 3)) (Shape(n)) id logits (t [ 4 ] [ 1.0; 0.0; 0.0; 1.0 ]))
                0.75
                "[n]"
            Expect.equal
                (accuracy (Shape(n, Dim.Of 3)) (Shape(n, Dim.Of 1)) id logits (t [ 4; 1 ] [ 1.0; 1.0; 0.0; 1.0 ]))
                0.5
                "[n, 1]"
        }
        test "multi-class accuracy against one-hot targets" {
            let logits = t [ 2; 3 ] [ 0.1; 0.5; 0.2; 3.0; 1.0; 0.0 ]
            Expect.equal
                (accuracy
                    (Shape(n, Dim.Of 3))
                    (Shape(n, Dim.Of 3))
                    id
                    logits
                    (t [ 2; 3 ] [ 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 ]))
                0.5
                "one-hot"
        }
        test "binary accuracy thresholds probabilities at 0.5 and sigmoid logits at 0" {
            let probs = t [ 4; 1 ] [ 0.2; 0.5; 0.7; 0.49 ]
            Expect.equal
                (accuracy (Shape(n, Dim.Of 1)) (Shape(n, Dim.Of 1)) id probs (t [ 4; 1 ] [ 0.0; 1.0; 0.0; 0.0 ]))
                0.75
                "probabilities"
            let sigmoid (b: GraphBuilder) x = b.Unary(OpKind.Sigmoid, x, sp)
            let logits = t [ 3 ; 1 ] [ -3.0; 0.0; 2.0 ]
            Expect.equal
                (accuracy (Shape(n, Dim.Of 1)) (Shape(n)) sigmoid logits (t [ 3 ] [ 0.0; 1.0; 0.0 ]))
                (2.0 / 3.0)
                "through a sigmoid"
        }

        // y_true [0; 0; 1; 1; 2; 2] against arg-maxes [0; 1; 1; 1; 0; 0] over 4 outputs: class 2 occurs but is never
        // predicted, class 3 is in neither. By hand: class 0 TP 1 of 3 predicted, 2 actual; class 1 TP 2 of 3, 2;
        // class 2 TP 0 of 0, 2 (precision 0 by zero_division=0); class 3 left out (scikit-learn's labels are those
        // of y_true ∪ y_pred). precision (1/3 + 2/3 + 0) / 3, recall (1/2 + 1 + 0) / 3, f1 (2/5 + 4/5 + 0) / 3.
        let macroLogits =
            t [ 6; 4 ] [ 3.0; 1.0; 0.0; 0.0;  0.0; 2.0; 1.0; 0.0;  0.0; 5.0; 1.0; 0.0
                         1.0; 2.0; 0.0; 0.0;  4.0; 0.0; 3.0; 0.0;  2.0; 1.0; 1.0; 0.0 ]
        let macroTargets = [ 0.0; 0.0; 1.0; 1.0; 2.0; 2.0 ]
        let rowsOf (x: Tensor<float>) lo hi =
            let w = x.Data.Length / x.Shape[0]
            let data = x.Data[lo * w .. hi * w - 1] |> Array.map float
            Tensor<float>.FromDoubles(Array.append [| hi - lo |] x.Shape[1..], data)
        test "precision, recall, f1 are macro averages; a class never predicted counts 0, one never seen is left out" {
            let whole = [ macroLogits, t [ 6 ] macroTargets ]
            let k4 = Shape(n, Dim.Of 4)
            let close m expected = Expect.floatClose Accuracy.veryHigh (measure m k4 (Shape n) whole) expected m.Name
            close Metric.Precision (1.0 / 3.0)
            close Metric.Recall 0.5
            close Metric.F1 0.4
        }
        test "precision, recall and f1 over an epoch's batches are those of all its rows, not a mean of batches" {
            // batch 1 alone has precision 0.75 and batch 2 one of 1/3: their mean, 0.54, is not the epoch's 1/3
            let targets = t [ 6 ] macroTargets
            let batches = [ rowsOf macroLogits 0 3, rowsOf targets 0 3; rowsOf macroLogits 3 6, rowsOf targets 3 6 ]
            let k4 = Shape(n, Dim.Of 4)
            Expect.floatClose Accuracy.veryHigh (measure Metric.Precision k4 (Shape n) [ batches[0] ]) 0.75 "batch 1"
            Expect.floatClose Accuracy.veryHigh (measure Metric.Precision k4 (Shape n) batches) (1.0 / 3.0) "epoch"
            Expect.floatClose Accuracy.veryHigh (measure Metric.F1 k4 (Shape n) batches) 0.4 "epoch f1"
            // one-hot targets give the same counts
            let oneHot = t [ 6; 4 ] [ for c in macroTargets do for j in 0..3 -> if float j = c then 1.0 else 0.0 ]
            Expect.floatClose Accuracy.veryHigh (measure Metric.Recall k4 k4 [ macroLogits, oneHot ]) 0.5 "one-hot"
        }
        test "with one output, precision, recall and f1 are the positive class's (Keras' Precision, Recall)" {
            // decisions p >= 0.5: [1; 0; 1; 0; 1] against [1; 1; 0; 0; 0]: TP 1, predicted 3, actual 2
            let p = t [ 5; 1 ] [ 0.9; 0.2; 0.6; 0.4; 0.7 ]
            let y = t [ 5; 1 ] [ 1.0; 1.0; 0.0; 0.0; 0.0 ]
            let one = Shape(n, Dim.Of 1)
            let close m expected = Expect.floatClose Accuracy.veryHigh (measure m one one [ p, y ]) expected m.Name
            close Metric.Precision (1.0 / 3.0)
            close Metric.Recall 0.5
            close Metric.F1 0.4
            let none = t [ 2; 1 ] [ 0.1; 0.2 ]
            Expect.equal (measure Metric.Precision one one [ none, t [ 2; 1 ] [ 0.0; 0.0 ] ]) 0.0 "nothing predicted: 0"
        }
        test "topK counts a row when fewer than k classes score above its class (ties are in the top k)" {
            // row 1: one class above the true class 2; row 2: all tied; row 3: three above the true class 3
            let scores = t [ 3; 4 ] [ 1.0; 3.0; 2.0; 0.0;  0.0; 0.0; 0.0; 0.0;  5.0; 4.0; 3.0; 2.0 ]
            let y = t [ 3 ] [ 2.0; 3.0; 3.0 ]
            let k4 = Shape(n, Dim.Of 4)
            for k, expected in [ 1, 1.0 / 3.0; 2, 2.0 / 3.0; 3, 2.0 / 3.0; 4, 1.0 ] do
                Expect.floatClose Accuracy.veryHigh (measure (Metric.TopK k) k4 (Shape n) [ scores, y ]) expected
                    (sprintf "top%d" k)
            Expect.equal (Metric.TopK 5).Name "top5" "named by k"
        }
        test "rmse is the root of the epoch's mean square, not a mean of the batches' roots" {
            // errors 1, 1 then 3: sqrt((1 + 1 + 9) / 3); the batches' roots 1 and 3 would average to 5/3
            let one = Shape(n, Dim.Of 1)
            let batches = [ t [ 2; 1 ] [ 1.0; 2.0 ], t [ 2; 1 ] [ 0.0; 1.0 ]; t [ 1; 1 ] [ 3.0 ], t [ 1; 1 ] [ 0.0 ] ]
            Expect.floatClose Accuracy.veryHigh (measure Metric.Rmse one one batches) (sqrt (11.0 / 3.0)) "rmse"
            Expect.floatClose Accuracy.veryHigh (measure Metric.Mae one one batches) (5.0 / 3.0) "mae"
            Expect.floatClose Accuracy.veryHigh (measure Metric.Mse one one batches) (11.0 / 3.0) "mse"
        }
        test "r2 over batches equals the textbook 1 - SS_res / SS_tot per column, averaged (scikit-learn)" {
            let rng = System.Random 7
            // targets far from 0 (a mean of 1000) so that sums of squares about 0 would lose the variance
            let ts = Array.init 14 (fun i -> 1000.0 + float (i % 2) * 50.0 + rng.NextDouble() * 10.0)
            let ps = ts |> Array.map (fun x -> x + rng.NextDouble() * 8.0 - 4.0)
            let f32 = Array.map (float32 >> float)
            let ts, ps = f32 ts, f32 ps
            let column c =
                let t = [| for i in 0..6 -> ts[2 * i + c] |]
                let p = [| for i in 0..6 -> ps[2 * i + c] |]
                let mean = Array.average t
                let residual = Array.fold2 (fun a x y -> a + (x - y) ** 2.0) 0.0 p t
                1.0 - residual / (t |> Array.sumBy (fun x -> (x - mean) ** 2.0))
            let expected = (column 0 + column 1) / 2.0
            let k2 = Shape(n, Dim.Of 2)
            let all = t [ 7; 2 ] (List.ofArray ps), t [ 7; 2 ] (List.ofArray ts)
            let batches = [ rowsOf (fst all) 0 4, rowsOf (snd all) 0 4; rowsOf (fst all) 4 7, rowsOf (snd all) 4 7 ]
            Expect.floatClose { absolute = 1e-5; relative = 1e-5 } (measure Metric.R2 k2 k2 batches) expected "epoch"
            Expect.floatClose { absolute = 1e-5; relative = 1e-5 } (measure Metric.R2 k2 k2 [ all ]) expected "whole"
        }
        test "r2 of a constant target column is 1 when predicted exactly, else 0 (scikit-learn's force_finite)" {
            let one = Shape(n, Dim.Of 1)
            Expect.equal (measure Metric.R2 one one [ t [ 2; 1 ] [ 3.0; 3.0 ], t [ 2; 1 ] [ 3.0; 3.0 ] ]) 1.0 "exact"
            Expect.equal (measure Metric.R2 one one [ t [ 2; 1 ] [ 3.0; 4.0 ], t [ 2; 1 ] [ 3.0; 3.0 ] ]) 0.0 "not"
            // a perfect prediction scores 1 and predicting the mean scores 0, by the formula
            let y = t [ 4; 1 ] [ 1.0; 2.0; 3.0; 6.0 ]
            Expect.floatClose Accuracy.veryHigh (measure Metric.R2 one one [ y, y ]) 1.0 "perfect"
            let mean = t [ 4; 1 ] [ 3.0; 3.0; 3.0; 3.0 ]
            Expect.floatClose Accuracy.veryHigh (measure Metric.R2 one one [ mean, y ]) 0.0 "the mean"
        }
        test "a function metric is averaged over the epoch's rows, whether it gives one value per row or a mean" {
            let perRow (b: GraphBuilder) (p: Node) (y: Node) (s: SourceSpan) =
                b.Unary(OpKind.Abs, b.Binary(OpKind.Div, b.Binary(OpKind.Sub, p, y, s), y, s), s)
            let one = Shape(n, Dim.Of 1)
            let batches =
                [ t [ 2; 1 ] [ 110.0; 90.0 ], t [ 2; 1 ] [ 100.0; 100.0 ]; t [ 1; 1 ] [ 120.0 ], t [ 1; 1 ] [ 100.0 ] ]
            let rows = Metric.Function("mape", System.Func<_, _, _, _, _>(perRow))
            Expect.floatClose Accuracy.high (measure rows one one batches) (0.4 / 3.0) "per row"
            let meanOf (b: GraphBuilder) p y s = b.Reduce(OpKind.Mean, perRow b p y s, [||], false, s)
            let mean = Metric.Function("mape", System.Func<_, _, _, _, _>(meanOf))
            Expect.floatClose Accuracy.high (measure mean one one batches) (0.4 / 3.0) "batch means weighted by rows"
            Expect.isFalse mean.Maximize "a function is minimised"
        }
    ]
