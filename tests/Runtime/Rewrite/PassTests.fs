/// Each rewrite on examples, and optimised graphs computing the same values and gradients as the originals.
module Nn.Tests.Runtime.Rewrite.PassTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Execution
open Nn.Runtime.Rewrite
open Nn.Tests.Runtime.Autodiff
open Nn.Tests.Runtime.Autodiff.GraphGen

let private at = SourceSpan("r.nn", 5, 1, 5, 9)

/// Optimises the graph with output `out` = make(x) for x : [2, 3] and returns the printed result.
let private optimized (make: GraphBuilder -> Node -> Node) =
    let b = GraphBuilder()
    let x = b.Input("x", Shape.Of(2, 3), at)
    Passes.Optimize(b.Build([ KeyValuePair("out", make b x) ]))

let private outLine (g: Graph) = GraphPrinter.Describe(g.Output "out")

[<Tests>]
let tests =
    testList "Runtime.Rewrite.Passes" [
        test (
            "identities disappear: x·1, 1·x, x+0, x−0, x/1, x**1, −−x, exp(log x), log(exp x), double transpose, "
            + "reshape of reshape"
        ) {
            let c (b: GraphBuilder) v = b.Const(v, at)
            let cases : (string * (GraphBuilder -> Node -> Node)) list =
                [ "x·1", (fun b x -> b.Binary(OpKind.Mul, x, c b 1.0, at))
                  "1·x", (fun b x -> b.Binary(OpKind.Mul, c b 1.0, x, at))
                  "x+0", (fun b x -> b.Binary(OpKind.Add, x, c b 0.0, at))
                  "0+x", (fun b x -> b.Binary(OpKind.Add, c b 0.0, x, at))
                  "x−0", (fun b x -> b.Binary(OpKind.Sub, x, c b 0.0, at))
                  "x/1", (fun b x -> b.Binary(OpKind.Div, x, c b 1.0, at))
                  "x**1", (fun b x -> b.Binary(OpKind.Pow, x, c b 1.0, at))
                  "−−x", (fun b x -> b.Unary(OpKind.Neg, b.Unary(OpKind.Neg, x, at), at))
                  "exp(log x)", (fun b x -> b.Unary(OpKind.Exp, b.Unary(OpKind.Log, x, at), at))
                  "log(exp x)", (fun b x -> b.Unary(OpKind.Log, b.Unary(OpKind.Exp, x, at), at))
                  "transpose twice", (fun b x -> b.Transpose(b.Transpose(x, at), at))
                  "reshape of reshape", (fun b x -> b.Reshape(b.Reshape(x, Shape.Of 6, at), Shape.Of(2, 3), at))
                  "broadcast to the same shape",
                  (fun b x -> b.Add(OpKind.Broadcast, [ x ], OpAttrs(Target = x.Shape), at))
                  "(x·1 + 0)·(2 − 1)",
                  (fun b x ->
                      b.Binary(
                          OpKind.Mul,
                          b.Binary(OpKind.Add, b.Binary(OpKind.Mul, x, c b 1.0, at), c b 0.0, at),
                          b.Binary(OpKind.Sub, c b 2.0, c b 1.0, at),
                          at
                      )) ]
            for name, make in cases do
                let g = optimized make
                Expect.equal (g.Output "out").Op OpKind.Input name
                Expect.equal g.Nodes.Count 1 (name + ": nothing else is left")
        }
        test "x·0 becomes a zero constant of the result's shape; a broadcasting x+0 keeps the shape" {
            let g = optimized (fun b x -> b.Binary(OpKind.Mul, x, b.Const(0.0, at, Shape.Of(4, 2, 3)), at))
            Expect.equal (g.Output "out").Shape (Shape.Of(4, 2, 3)) "shape"
            Expect.equal (outLine g) "const 0" "zero"
            let g2 = optimized (fun b x -> b.Binary(OpKind.Add, x, b.Const(0.0, at, Shape.Of(4, 2, 3)), at))
            Expect.equal (outLine g2) "broadcast %0 to [4, 2, 3]" "x broadcast"
        }
        test "constants fold to one fill value" {
            let g = optimized (fun b x ->
                let s = b.Reduce(OpKind.Sum, b.Const(1.5, at, Shape.Of(3, 4)), [| 1 |], false, at)
                b.Binary(OpKind.Mul, x, b.Unary(OpKind.Exp, b.Binary(OpKind.Sub, s, s, at), at), at))
            Expect.equal g.Nodes.Count 1 "x·exp(s − s) with s constant is x"
            let g2 =
                optimized (fun b x ->
                    b.Binary(
                        OpKind.Mul,
                        x,
                        b.Reduce(OpKind.Sum, b.Const(1.5, at, Shape.Of(3, 4)), [| 1 |], false, at),
                        at
                    ))
            Expect.equal (GraphPrinter.Describe((g2.Output "out").Inputs.[1])) "const 6" "sum of four 1.5s"
        }
        test "composed transposes become one" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of(2, 3, 4), at)
            let t = b.Transpose(b.Transpose(x, at, [| 1; 2; 0 |]), at, [| 1; 2; 0 |])
            let g = Passes.Optimize(b.Build([ KeyValuePair("out", t) ]))
            Expect.equal (outLine g) "transpose %0 [2,0,1]" "one transpose"
            Expect.equal (g.Output "out").Shape t.Shape "shape kept"
        }
        test "log(softmax x) → logSoftmax x and log(sigmoid x) → −softplus(−x) stay finite where the originals do not" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of(1, 2), at)
            let ls = b.Unary(OpKind.Log, b.Softmax(OpKind.Softmax, x, -1, at), at)
            let lg = b.Unary(OpKind.Log, b.Unary(OpKind.Sigmoid, x, at), at)
            let g = b.Build([ KeyValuePair("ls", ls); KeyValuePair("lg", lg) ])
            let o = Passes.Optimize g
            Expect.equal (o.Output "ls").Op OpKind.LogSoftmax "logSoftmax"
            Expect.equal (GraphPrinter.Describe(o.Output "lg")) "neg %3" "−softplus(−x)"
            let feeds = Dictionary(dict [ "x", T64([| 1; 2 |], [| 1000.0; -800.0 |]) ])
            let before, after = Interp.Run(g, feeds), Interp.Run(o, feeds)
            Expect.isTrue (System.Double.IsNegativeInfinity before.["ls"].Data.[1]) "naive log(softmax) underflows"
            Expect.equal after.["ls"].Data [| 0.0; -1800.0 |] "stable"
            Expect.equal after.["lg"].Data [| 0.0; -800.0 |] "stable log-sigmoid"
        }
        test "dead nodes go, sources stay; CSE merges what rewrites made equal" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of 3, at)
            b.Param("unused", Shape.Of 2, InitSpec.Zeros, at) |> ignore
            b.Unary(OpKind.Exp, x, at) |> ignore
            let y1 = b.Unary(OpKind.Tanh, b.Binary(OpKind.Mul, x, b.Const(1.0, at), at), at)
            let y2 = b.Unary(OpKind.Tanh, x, at)
            let g = b.Build([ KeyValuePair("out", b.Binary(OpKind.Add, y1, y2, at)) ])
            let mutable report = Unchecked.defaultof<OptimizeReport>
            let o = Passes.Optimize(g, &report)
            Expect.equal [ for p in o.Params -> p.Name ] [ "unused" ] "parameters are kept even when unused"
            Expect.isFalse (o.Nodes |> Seq.exists (fun n -> n.Op = OpKind.Exp)) "the dead exp is gone"
            Expect.equal
                (o.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Tanh) |> Seq.length)
                1
                "tanh(x·1) and tanh(x) merged"
            Expect.equal (report.NodesBefore, report.NodesAfter) (g.Nodes.Count, o.Nodes.Count) "report"
            Expect.stringStarts (string report) (sprintf "nodes: %d → %d (" g.Nodes.Count o.Nodes.Count) "report text"
        }
        testPropertyWithConfig (GraphDesc.graphConfig 200)
            "optimised graphs compute the same values and gradients, and optimising again changes nothing"
            (fun (d: GraphDesc.AnyGraph) ->
                let seed = d.Case.Seed
                let g = graphOf (GraphDesc.gradCaseOf d.Case)
                let mutable report = Unchecked.defaultof<OptimizeReport>
                let o = Passes.Optimize(g, &report)
                Expect.isEmpty (Verifier.Check o) "well formed"
                Expect.isLessThanOrEqual report.NodesAfter report.NodesBefore "never grows"
                Expect.equal (GraphPrinter.Text(Passes.Optimize o)) (GraphPrinter.Text o) "a fixed point"
                let feeds = feedsFor g.Nodes seed
                let r1, r2 = Interp.Run(g, feeds, runOpts), Interp.Run(o, feeds, runOpts)
                for kv in r1 do
                    Array.iteri2 (fun i (a: float) (b: float) ->
                        if not (close 1e-10 1e-9 (abs a + abs b) a b) then
                            failtestf "%s[%d] is %g before and %g after\n%s" kv.Key i a b d.Text)
                        kv.Value.Data r2.[kv.Key].Data)
    ]
