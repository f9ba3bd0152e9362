/// The symbolic gradients of random graphs against float64 central finite differences along random directions.
module Nn.Tests.Runtime.Autodiff.GradCheckTests

open System
open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Autodiff
open Nn.Tests.Runtime.Autodiff.GraphGen

/// Step of the central differences: truncation error ~h² = 1e-10, rounding ~1e-16/h = 1e-11 (relative).
let h = 1e-5
/// Gradients: |AD − FD| ≤ 1e-6 + 1e-5·(|f| + Σ|∂f·v|).
let atol, rtol = 1e-6, 1e-5

let private checkGradient (opts: GenOptions) (seed: int) =
    let c = gradCase opts seed
    let g = graphOf c
    Expect.isEmpty (Verifier.Check g) "the forward+backward graph is well formed"
    let feeds = feedsFor g.Nodes seed
    let v = directions feeds c.Wrt (seed + 1)
    let values = Interp.Evaluate(g, feeds, Array.append [| c.Loss |] c.Grads, runOpts)
    let grads = c.Grads |> Array.map (fun n -> values.[n.Id])
    let f = values.[c.Loss.Id].Data.[0]
    let ad = dot grads v
    let fd = centralDiff g c.Loss feeds c.Wrt v h
    if not (close atol rtol (abs f + absDot grads v) ad fd) then
        failtestf "seed %d: ⟨∇f, v⟩ = %g but finite differences give %g\n%s" seed ad fd (GraphPrinter.Text g)

/// ⟨∇²f·v, u⟩ against (⟨∇f(θ+hv), u⟩ − ⟨∇f(θ−hv), u⟩)/2h with the symbolic gradient.
let private checkHvp (seed: int) =
    let b = GraphBuilder()
    let loss = generate b (Random seed) "g" { defaults with Overlap = false } (baseSources b)
    let wrt = wrtOf b
    let vs = wrt |> Array.map (fun w -> b.Input("v." + w.Name, w.Shape, span))
    let grads = Backward.Gradients(b, loss, wrt)
    let hv = Backward.Hvp(b, loss, wrt, vs)
    let g = b.Build([ for i in 0 .. wrt.Length - 1 -> KeyValuePair("hv." + wrt.[i].Name, hv.[i]) ])
    Expect.isEmpty (Verifier.Check g) "the second-order graph is well formed"
    let feeds = feedsFor g.Nodes seed
    let v = directions feeds wrt (seed + 1)
    let u = directions feeds wrt (seed + 2)
    for i in 0 .. wrt.Length - 1 do feeds.["v." + wrt.[i].Name] <- v.[i]
    let hvValues = Interp.Evaluate(g, feeds, hv, runOpts)
    let hvT = hv |> Array.map (fun n -> hvValues.[n.Id])
    let gradAt t =
        let vals = Interp.Evaluate(g, moved feeds wrt v t, grads, runOpts)
        grads |> Array.map (fun n -> vals.[n.Id])
    let gp, gm = gradAt h, gradAt -h
    let fd = (dot gp u - dot gm u) / (2.0 * h)
    let ad = dot hvT u
    if not (close 1e-5 1e-4 (absDot hvT u + absDot gp u) ad fd) then
        failtestf "seed %d: uᵀHv = %g but differences of the gradient give %g\n%s" seed ad fd (GraphPrinter.Text g)

/// Chain rule: ⟨∇(f∘g), v⟩ = ⟨∇f(g θ), J_g v⟩, with ∇f symbolic on f alone and J_g v by finite differences of g.
let private checkChain (seed: int) =
    let b = GraphBuilder()
    let _, yNode = generateWithLast b (Random seed) "g" defaults (baseSources b)
    let outer = generate b (Random(seed + 100)) "f" defaults [ yNode ]
    let wrt = wrtOf b |> Array.filter (fun n -> not (n.Name.StartsWith "f."))
    let composite = Backward.Gradients(b, outer, wrt)
    let gAll = b.Build([ KeyValuePair("h", outer) ])
    // f alone, on an input y of the same shape
    let fb = GraphBuilder()
    let yIn = fb.Input("y", yNode.Shape, span)
    let fOnly = generate fb (Random(seed + 100)) "f" defaults [ yIn ]
    let df = Backward.Gradients(fb, fOnly, [| yIn |])
    let fGraph = fb.Build([ KeyValuePair("df", df.[0]) ])
    let feeds = feedsFor gAll.Nodes seed
    let v = directions feeds wrt (seed + 1)
    let yAt t = valueOf gAll yNode (moved feeds wrt v t)
    let y0, yp, ym = yAt 0.0, yAt h, yAt -h
    let jv = T64(Array.copy y0.Shape, Array.init y0.Count (fun i -> (yp.Data.[i] - ym.Data.[i]) / (2.0 * h)))
    let fFeeds = Dictionary<string, T64>(feeds)
    fFeeds.["y"] <- y0
    let dfAtY = valueOf fGraph df.[0] fFeeds
    let vals = Interp.Evaluate(gAll, feeds, composite, runOpts)
    let lhs = dot (composite |> Array.map (fun n -> vals.[n.Id])) v
    let rhs = dot [| dfAtY |] [| jv |]
    if not (close 1e-6 1e-5 (absDot [| dfAtY |] [| jv |]) lhs rhs) then
        failtestf "seed %d: ⟨∇(f∘g), v⟩ = %g but ⟨∇f, J_g v⟩ = %g" seed lhs rhs

[<Tests>]
let tests =
    testList "Runtime.Autodiff.GradCheck" [
        testPropertyWithConfig (config 60) "random graphs: symbolic gradient = central differences" (checkGradient defaults)
        testPropertyWithConfig (config 30) "random graphs without overlapping pools: Hessian-vector products = differences of gradients" checkHvp
        testPropertyWithConfig (config 30) "chain rule: ∇(f∘g) = J_gᵀ ∇f" checkChain
        test "a node the output does not depend on gets a zero gradient" {
            let b = GraphBuilder()
            let p = b.Param("p", Shape.Of 2, InitSpec.Zeros, span)
            let q = b.Param("q", Shape.Of 3, InitSpec.Zeros, span)
            let loss = b.Reduce(OpKind.Sum, b.Unary(OpKind.Square, p, span), [||], false, span)
            let d = Backward.Gradients(b, loss, [| q |])
            Expect.equal d.[0].Op OpKind.Const "a constant"
            Expect.equal d.[0].Shape q.Shape "of q's shape"
        }
        test "a non-scalar output needs a seed" {
            let b = GraphBuilder()
            let p = b.Param("p", Shape.Of 2, InitSpec.Zeros, span)
            Expect.throws (fun () -> Backward.Gradients(b, b.Unary(OpKind.Exp, p, span), [| p |]) |> ignore) "needs a seed"
        }
    ]
