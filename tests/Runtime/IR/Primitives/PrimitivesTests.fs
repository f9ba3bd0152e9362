/// The op definitions (src/Runtime/IR/Primitives): one per OpKind with every facet consistent, and the elementwise
/// ones checked against independent oracles — float64 finite differences for their gradient rules, and their own
/// float64 scalar meaning for the fused engine's float32 kernels.
module Nn.Tests.Runtime.IR.Primitives.PrimitivesTests

open System
open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Execution
open Nn.Runtime.Engine

let private span = SourceSpan("primitives.nn", 1, 1, 1, 2)

/// Points away from every kink (0 for relu/abs, ±3 for hardSigmoid), on both sides, small and large.
let samplePoints = [| -7.3; -4.1; -2.6; -1.3; -0.55; -0.12; 0.08; 0.37; 0.9; 1.7; 2.4; 3.6; 5.2; 9.5 |]

/// The points in an op's domain (log and sqrt only take positive numbers).
let pointsFor (p: UnaryPrimitive) =
    match p.Kind with
    | OpKind.Log | OpKind.Sqrt -> samplePoints |> Array.map abs
    | _ -> samplePoints

/// y = op(x) over the points as an input of shape [n], with the op's default parameter.
let unaryGraph (p: UnaryPrimitive) (n: int) =
    let b = GraphBuilder()
    let x = b.Input("x", Shape.Of n, span)
    let y = b.Unary(p.Kind, x, span, p.DefaultAlpha)
    b, x, y

/// The op's float32 values from the fused engine (the kernel operator inside a fused loop).
let fused (p: UnaryPrimitive) (xs: float[]) =
    let b, _, y = unaryGraph p xs.Length
    let g = b.Build [ KeyValuePair("y", y) ]
    let feeds = readOnlyDict [ "x", HostTensor([| xs.Length |], xs |> Array.map float32) ]
    (GraphRunner.Run(g, feeds)).["y"].Data

/// dΣop(x)/dx from the gradient rule, run by the float64 reference interpreter.
let ruleGradient (p: UnaryPrimitive) (xs: float[]) =
    let b, x, y = unaryGraph p xs.Length
    let loss = b.Reduce(OpKind.Sum, y, [||], false, span)
    let dx = (Autodiff.Backward.Gradients(b, loss, [| x |])).[0]
    let g = b.Build [ KeyValuePair("dx", dx) ]
    let feeds = Dictionary(dict [ "x", Tensor<double>([| xs.Length |], Array.copy xs) ])
    (ReferenceInterpreter<double>.Run(g, feeds)).["dx"].Data

/// Central difference of the op's own float64 meaning.
let finiteDifference (p: UnaryPrimitive) (x: float) =
    let h = 1e-6
    (p.Evaluate(x + h) - p.Evaluate(x - h)) / (2.0 * h)

/// Gradient rule vs finite differences: the difference quotient's error is about ε/h ≈ 1e-10 relative to the
/// values plus h²·f''' ≈ 1e-12, so 1e-6 absolute plus 1e-6 relative leaves a wide margin while catching a wrong
/// rule (a wrong rule is off by a factor, not by 1e-6).
let gradAtol, gradRtol = 1e-6, 1e-6

/// Fused float32 vs float64 meaning: the vector forms (Eigen's rational tanh, polynomial exp and log) are accurate
/// to a few float32 ulps of the result or of the function's inputs; 2e-5 absolute plus 2e-5 relative is about
/// 160 ulps, far below any wrong formula.
let fusedAtol, fusedRtol = 2e-5, 2e-5

let checkGradient (p: UnaryPrimitive) =
    let xs = pointsFor p
    let actual = ruleGradient p xs
    for i in 0 .. xs.Length - 1 do
        let expected = finiteDifference p xs[i]
        if abs (actual[i] - expected) > gradAtol + gradRtol * abs expected then
            failtestf "%s'(%g): rule %.12g, finite difference %.12g" p.Name xs[i] actual[i] expected

let checkFused (p: UnaryPrimitive) =
    // 14 points repeated to 37 values: the vector body and the scalar tail both run
    let xs = Array.init 37 (fun i -> (pointsFor p)[i % samplePoints.Length])
    let actual = fused p xs
    for i in 0 .. xs.Length - 1 do
        let expected = p.Evaluate(xs[i])
        if abs (float actual[i] - expected) > fusedAtol + fusedRtol * abs expected then
            failtestf "%s(%g) at %d: fused %.9g, float64 %.12g" p.Name xs[i] i actual[i] expected

let private kinds = Enum.GetValues<OpKind>()

[<Tests>]
let tests =
    testList "Runtime.IR.Primitives" [
        test "every OpKind has exactly one definition, and it defines that op" {
            Expect.equal Primitives.All.Count kinds.Length "one definition per op"
            for k in kinds do Expect.equal (Primitives.Of k).Kind k $"the definition of {k}"
            Expect.equal (Primitives.All |> Seq.map (fun p -> p.Kind) |> Seq.distinct |> Seq.length) kinds.Length
                "no op defined twice"
        }
        test "every definition class in the runtime is in the registry's list" {
            // the registry names its classes (Native AOT keeps only what code names); a class left out is an op
            // the engine cannot see
            let listed = Primitives.All |> Seq.map (fun p -> p.GetType().FullName) |> set
            let defined =
                typeof<Primitive>.Assembly.GetTypes()
                |> Array.filter (fun (t: Type) -> t.IsSubclassOf typeof<Primitive> && not t.IsAbstract)
                |> Array.map (fun t -> t.FullName)
            for t in defined do Expect.isTrue (listed.Contains t) $"{t} is in Primitives' list"
            Expect.equal listed.Count defined.Length "the list holds only definition classes, each once"
        }
        test "category, arity and class agree" {
            for p in Primitives.All do
                let expected =
                    match p with
                    | :? UnaryPrimitive -> Some(Category.Unary, 1)
                    | :? BinaryPrimitive -> Some(Category.Binary, 2)
                    | :? ElementwisePrimitive -> Some(Category.Ternary, 3)
                    | _ -> None
                match expected with
                | Some(c, a) ->
                    Expect.equal p.Category c $"{p.Name}'s category"
                    Expect.equal p.Arity a $"{p.Name}'s arity"
                | None ->
                    Expect.isFalse (List.contains p.Category [ Category.Unary; Category.Binary; Category.Ternary ])
                        $"{p.Name} is structural but its category says elementwise"
                    Expect.equal (p.Arity = 0) (p.Category = Category.Source) $"{p.Name}: only sources have no operand"
        }
        test "printed names are the camelCase op names and unique" {
            for p in Primitives.All do
                let s = string p.Kind
                Expect.equal p.Name (string (Char.ToLowerInvariant s[0]) + s[1..]) $"{p.Kind}"
                Expect.equal (GraphPrinter.OpName p.Kind) p.Name $"{p.Kind} printed"
        }
        test "the fused engine runs exactly the elementwise ops and broadcast" {
            for p in Primitives.All do
                let elementwise = p :? ElementwisePrimitive || p.Kind = OpKind.Broadcast
                Expect.equal (Planning.Planner.IsElementwise p.Kind) elementwise $"{p.Name} in fused loops"
        }
        test "every language name of a unary op is a built-in, and every elementwise built-in has a definition" {
            let builtins = set Nn.Compiler.Builtins.Table.allNames
            let names = [ for p in Primitives.Unaries do yield! p.Names ]
            for n in names do Expect.isTrue (builtins.Contains n) $"`{n}` is a built-in"
            Expect.equal (List.length names) (List.length (List.distinct names)) "no name defined twice"
            let elementwise = Nn.Compiler.Builtins.Elementwise.all |> List.map (fun b -> b.Name) |> set
            Expect.equal elementwise (set (names @ [ "max"; "min" ])) "the elementwise built-ins"
        }
        test "ops without a gradient give none; the others give one for each operand" {
            for p in Primitives.Unaries do
                let b, x, y = unaryGraph p 3
                let c = Vjp(b, y, b.Const(1.0, span, y.Shape))
                let rule = p.Vjp(c, 0)
                Expect.equal (not (isNull rule)) p.Differentiable $"{p.Name}: a rule iff differentiable"
                ignore x
        }
        testList "gradient rule = float64 finite differences" [
            for p in Primitives.Unaries do
                if p.Differentiable then test p.Name { checkGradient p }
        ]
        testList "fused float32 kernel = float64 scalar meaning" [
            for p in Primitives.Unaries do test p.Name { checkFused p }
        ]
        testList "binary ops: fused float32 kernel = float64 scalar meaning" [
            for p in Primitives.All |> Seq.choose (function :? BinaryPrimitive as b -> Some b | _ -> None) do
                test p.Name {
                    let xs = Array.init 37 (fun i -> abs samplePoints[i % samplePoints.Length])
                    let ys = Array.init 37 (fun i -> if i % 5 = 0 then xs[i] else samplePoints[(i * 3) % 14] / 3.0)
                    let b = GraphBuilder()
                    let x = b.Input("x", Shape.Of 37, span)
                    let y = b.Input("y", Shape.Of 37, span)
                    let g = b.Build [ KeyValuePair("z", b.Binary(p.Kind, x, y, span)) ]
                    let feed (v: float[]) = HostTensor([| 37 |], v |> Array.map float32)
                    let z = (GraphRunner.Run(g, readOnlyDict [ "x", feed xs; "y", feed ys ])).["z"].Data
                    for i in 0 .. 36 do
                        // the operands as float32 saw them
                        let e = p.Evaluate(float (float32 xs[i]), float (float32 ys[i]))
                        if abs (float z[i] - e) > fusedAtol + fusedRtol * abs e then
                            failtestf "%g %s %g: fused %.9g, float64 %.12g" xs[i] p.Symbol ys[i] z[i] e
                }
        ]
    ]
