/// The graph descriptions of the properties: the generator reaches every op, shrinking ends at a small graph, the
/// printer shows it in a few lines.
module Nn.Tests.Runtime.Autodiff.GraphDescTests

open System
open Expecto
open FsCheck.FSharp
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Autodiff
open Nn.Tests.Runtime.Autodiff.GraphDesc

/// `count` cases of the generator at its largest size, from a fixed seed.
let private sample (opts: DescOptions) (count: int) =
    Gen.sampleWithSeed (FsCheck.Rnd 5UL) 99 count (caseGen opts) |> List.ofArray

let private ops (c: Case) = c.Roots |> List.sumBy opCount

/// Shrinks greedily as FsCheck does: the first smaller case that still has the property `failing`, until none has.
let private shrinkWhile (opts: DescOptions) (failing: Case -> bool) (c: Case) =
    let rec go c steps =
        match shrinkCase opts c |> Seq.tryFind failing with
        | Some smaller when steps < 1000 -> go smaller (steps + 1)
        | _ -> c
    go c 0

let rec private hasOp (op: OpKind) d =
    match d with
    | Unary(o, _) | Binary(o, _, _) | Reduce(o, _, _, _) | Softmax(o, _, _) | Pool(o, _, _, _) when o = op -> true
    | Conv _ when op = OpKind.Conv2d -> true
    | _ -> children d |> List.exists (hasOp op)

[<Tests>]
let tests =
    testList "Runtime.Autodiff.GraphDesc" [
        test "the generator and the gradients of its graphs reach every op" {
            let seen = Collections.Generic.HashSet<OpKind>()
            for c in sample smoothOptions 300 do
                let b = GraphBuilder()
                let loss = lossOf b c.Roots
                let wrt = wrtOfLeaves b
                Backward.Hvp(b, loss, wrt, wrt) |> ignore
                for n in b.Nodes do seen.Add n.Op |> ignore
            let missing =
                Enum.GetValues<OpKind>() |> Array.filter (fun op -> op <> OpKind.State && not (seen.Contains op))
            Expect.isEmpty missing "ops never generated (a new op belongs in GraphDesc's generator)"
        }
        test "generated cases build, keep to their options and differ from each other" {
            let cases = sample smoothOptions 200
            for c in cases do Expect.isTrue (validCase smoothOptions c) (show c)
            let distinct = cases |> List.map (fun c -> c.Roots) |> List.distinct |> List.length
            Expect.isGreaterThan distinct 150 "distinct graphs"
            Expect.isGreaterThan (cases |> List.sumBy ops) (3 * cases.Length) "more than three ops per graph on average"
        }
        test "every shrink of a case builds and keeps to the options" {
            for c in sample smoothOptions 30 do
                for s in shrinkCase smoothOptions c do
                    Expect.isTrue (validCase smoothOptions s) (show s)
                    Expect.isLessThanOrEqual (ops s) (ops c) "no more ops"
        }
        test "a property failing on every graph with a convolution shrinks to one convolution over a small image" {
            let failing (c: Case) = c.Roots |> List.exists (hasOp OpKind.Conv2d)
            let start = sample anyOptions 300 |> List.filter failing |> List.maxBy ops
            let small = shrinkWhile anyOptions failing start
            Expect.equal small.Roots.Length 1 "one root"
            Expect.equal (opCount small.Roots.Head) 1 (sprintf "one op, from %d:\n%s" (ops start) (show small))
            match small.Roots.Head with
            | Conv(1, 1, 1, 1, 1, [ 0; 0; 0; 0 ], Leaf(_, dims)) ->
                Expect.isLessThanOrEqual (List.sum dims) 4 "an image of size 1 in every dim"
            | d -> failtestf "expected the simplest convolution, got\n%s" (show { small with Roots = [ d ] })
        }
        test "the printer shows sources, one line per op with its shape, the loss and the seed" {
            let c =
                { Roots = [ Unary(OpKind.Log, MatMul(false, 2, Leaf(true, [ 3 ]))); Leaf(false, [ 3 ]) ]; Seed = 42 }
            let expected =
                [ "sources: p3 [3], p3x2 [3, 2], x3 [n, 3]"
                  "  t1 = matMul(x3, p3x2)  : [n, 2]"
                  "  t2 = log(t1²+½)  : [n, 2]"
                  "  loss = sum(t2 * r0) + sum(p3 * r1)"
                  "values from seed 42" ]
            Expect.equal (show c) (String.Join("\n", expected)) "text"
        }
    ]
