/// Which weights the planner stores in panel layout: only those whose every use allows it.
module Nn.Tests.Runtime.Engine.Planning.WeightLayoutTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Engine.Planning

let private sp = SourceSpan.None

/// The Param names chosen for a graph built by `body` from an input x [n, 64] and a weight w of `shape`.
let private chosen (shape: int * int) (body: GraphBuilder -> Node -> Node -> Node) =
    let b = GraphBuilder()
    let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 64), sp)
    let w = b.Param("w", Shape.Of(fst shape, snd shape), InitSpec("glorot"), sp)
    let g = b.Build [ KeyValuePair("y", body b x w) ]
    WeightLayout.Choose [ Planner.Build g ] |> Set.ofSeq

[<Tests>]
let tests =
    testList "Runtime.Engine.Planning.WeightLayout" [
        test "a weight read as B of products (x @ w, and dy @ wᵀ) is stored in panels" {
            Expect.equal (chosen (64, 96) (fun b x w -> b.MatMul(x, w, sp))) (set [ "w" ]) "x @ w"
            Expect.equal
                (chosen (96, 64) (fun b x w -> b.MatMul(x, b.Transpose(w, sp, [| 1; 0 |]), sp)))
                (set [ "w" ])
                "x @ wᵀ"
        }
        test "a reduction of the whole weight to one number keeps panels (a weight penalty)" {
            Expect.equal (chosen (64, 96) (fun b x w ->
                let penalty = b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, w, w, sp), [| 0; 1 |], false, sp)
                b.Binary(OpKind.Add, b.MatMul(x, w, sp), penalty, sp))) (set [ "w" ]) "x @ w + sum(w·w)"
        }
        test "a weight read as A, broadcast against a row, or of too few columns stays row-major" {
            Expect.isEmpty (chosen (64, 64) (fun b x w -> b.MatMul(w, b.Transpose(x, sp, [| 1; 0 |]), sp))) "w @ xᵀ"
            Expect.isEmpty (chosen (64, 96) (fun b x w ->
                let scaled = b.Binary(OpKind.Mul, w, b.Param("s", Shape.Of 96, InitSpec.Zeros, sp), sp)
                b.MatMul(x, scaled, sp))) "w · row"
            Expect.isEmpty (chosen (64, 10) (fun b x w -> b.MatMul(x, w, sp))) "10 columns"
            Expect.isEmpty (chosen (64, 48) (fun b x w -> b.MatMul(x, w, sp))) "48 columns"
        }
        test "the plan text lists the values in panel layout" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 64), sp)
            let w = b.Param("w", Shape.Of(64, 96), InitSpec("glorot"), sp)
            let plan = Planner.Build(b.Build [ KeyValuePair("y", b.MatMul(x, w, sp)) ])
            let marked = plan.WithPanels(WeightLayout.Mark(plan, WeightLayout.Choose [ plan ]))
            Expect.stringContains (PlanPrinter.Text marked) "panel layout" "printed"
            Expect.isTrue marked.Panels[w.Id] "w marked"
            Expect.isFalse marked.Panels[x.Id] "x not marked"
        }
    ]
