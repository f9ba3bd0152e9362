/// The verifier accepts the graphs the builder, the backward pass and every rewrite produce, and names what is
/// wrong in broken ones.
module Nn.Tests.Runtime.IR.VerifierTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Rewrite
open Nn.Tests.Runtime.Autodiff
open Nn.Tests.Runtime.Autodiff.GraphGen

let private at = SourceSpan("v.nn", 2, 1, 2, 5)
let private out (n: Node) = [ KeyValuePair("out", n) ]

/// A node made directly, bypassing the builder's checks (internal constructor).
let private raw id op (inputs: Node list) shape attrs = Node(id, op, Array.ofList inputs, shape, attrs, at)

let private expectProblem (g: Graph) (fragment: string) =
    let problems = Verifier.Check g
    if not (problems |> Seq.exists (fun p -> p.Contains fragment)) then
        failtestf "expected a problem containing %A, got %A" fragment (List.ofSeq problems)
    Expect.throwsT<GraphInvalidException> (fun () -> Verifier.Assert g) "Assert throws"

[<Tests>]
let tests =
    testList "Runtime.IR.Verifier" [
        testPropertyWithConfig (GraphDesc.graphConfig 200)
            "accepts generated forward+backward graphs and every pass's result"
            (fun (d: GraphDesc.AnyGraph) ->
                let g = graphOf (GraphDesc.gradCaseOf d.Case)
                Expect.isEmpty (Verifier.Check g) "generated"
                for name, pass in Passes.All do
                    let problems = Verifier.Check(pass.Invoke g)
                    if problems.Count > 0 then failtestf "after %s: %A\n%s" name (List.ofSeq problems) d.Text)
        test "a pooling window larger than the image is a shape error (regression: found by the gradient property)" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of(2, 1, 5, 2), at)
            Expect.throwsT<ShapeException> (fun () -> b.Pool(OpKind.MaxPool2d, x, 2, 2, at) |> ignore) "pool"
            let k = b.Input("k", Shape.Of(2, 2, 2, 1), at)
            Expect.throwsT<ShapeException> (fun () -> b.Conv2d(x, k, 2, 1, [| 0; 0; 0; 0 |], at) |> ignore) "conv"
        }
        test "rejects ids that are not indices" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of 2, at)
            let y = b.Unary(OpKind.Exp, x, at)
            expectProblem (Graph([ y; x ], out y)) "id is %1, but the node is at index 0"
        }
        test "rejects operands from another graph" {
            let b1, b2 = GraphBuilder(), GraphBuilder()
            let x1 = b1.Input("x", Shape.Of 2, at)
            b2.Input("x", Shape.Of 2, at) |> ignore
            let z = b2.Param("z", Shape.Of 2, InitSpec.Zeros, at)
            let bad = raw 2 OpKind.Add [ x1; z ] (Shape.Of 2) OpAttrs.None
            let g = Graph([ b2.Nodes.[0]; z; bad ], out bad)
            expectProblem g "operand %0 is not a node of this graph"
        }
        test "rejects a wrong shape, a wrong arity and bad attributes" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of(2, 3), at)
            let wrong = raw 1 OpKind.Exp [ x ] (Shape.Of(3, 2)) OpAttrs.None
            expectProblem (Graph([ x; wrong ], out wrong)) "shape is [3, 2], but its operands give [2, 3]"
            let arity = raw 1 OpKind.Add [ x ] (Shape.Of(2, 3)) OpAttrs.None
            expectProblem (Graph([ x; arity ], out arity)) "takes 2 operands, has 1"
            let pool = raw 1 OpKind.OneHot [ x ] (Shape.Of(2, 3)) OpAttrs.None
            expectProblem (Graph([ x; pool ], out pool)) "needs its width attribute"
        }
        test "rejects a gradient op whose incoming gradient does not fit its forward op" {
            let b = GraphBuilder()
            let dy = b.Input("dy", Shape.Of(1, 3, 3, 2), at)
            let bad =
                raw
                    1
                    OpKind.AvgPool2dGrad
                    [ dy ]
                    (Shape.Of(1, 4, 4, 2))
                    (OpAttrs(Pool = PoolAttrs(2, 2, Pads.None), Target = Shape.Of(1, 4, 4, 2)))
            expectProblem
                (Graph([ dy; bad ], out bad))
                ("its incoming gradient has shape [1, 3, 3, 2], "
                 + "but the forward op it differentiates gives [1, 2, 2, 2]")
        }
        test "rejects duplicate source names, sources without initializer, duplicates and unbound dimension variables" {
            let a = raw 0 OpKind.Input [] (Shape.Of 2) (OpAttrs(Name = "x"))
            let b = raw 1 OpKind.Input [] (Shape.Of 2) (OpAttrs(Name = "x"))
            expectProblem (Graph([ a; b ], out b)) "the name `x` is already used by %0"
            let p = raw 0 OpKind.Param [] (Shape.Of 2) (OpAttrs(Name = "p"))
            expectProblem (Graph([ p ], out p)) "`p` has no initializer"
            let e1 = raw 1 OpKind.Exp [ a ] (Shape.Of 2) OpAttrs.None
            let e2 = raw 2 OpKind.Exp [ a ] (Shape.Of 2) OpAttrs.None
            expectProblem (Graph([ a; e1; e2 ], out e2)) "duplicates %1"
            let c = raw 1 OpKind.Const [] (Shape(Dim.Sym "m")) (OpAttrs(Target = Shape(Dim.Sym "m")))
            expectProblem (Graph([ a; c ], out c)) "the dimension variable `m` of [m] appears in no input"
        }
        test "rejects outputs outside the graph and repeated output names" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of 2, at)
            let other = GraphBuilder().Input("y", Shape.Of 2, at)
            expectProblem (Graph([ x ], [ KeyValuePair("o", other) ])) "output `o` is not a node of this graph"
            expectProblem
                (Graph([ x ], [ KeyValuePair("o", x); KeyValuePair("o", x) ]))
                "the output name `o` is used twice"
        }
    ]
