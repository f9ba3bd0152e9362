/// Graph descriptions that FsCheck generates and shrinks: a small tree of ops over named sources, with the ops'
/// attributes, that `build` turns into a graph through GraphBuilder's public methods. A failing property shrinks its
/// description (fewer ops, smaller shapes, simpler ops) and prints it in a few lines (`show`).
/// (Named 1… so it compiles after 0GraphGen.fs, whose feeds and finite-difference helpers it reuses.)
module Nn.Tests.Runtime.Autodiff.GraphDesc

open System
open System.Collections.Generic
open Expecto
open FsCheck
open FsCheck.FSharp
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Tests.Runtime.Autodiff.GraphGen

/// One value of a generated graph. Ops whose domain is restricted are built on safe arguments, and the printer says
/// so: log, sqrt and reciprocal of x²+½, exp of tanh x, a / (b²+½), (a²+½) ** tanh b.
type Desc =
    /// an Input `x…` of shape [n, dims] (batch) or a Param `p…` of shape [dims], named by its shape
    | Leaf of batch: bool * dims: int list
    /// an elementwise op without attribute (neg, tanh, …, log, step)
    | Unary of OpKind * Desc
    /// leakyRelu or elu with its alpha
    | Alpha of OpKind * alpha: float * Desc
    /// an elementwise binary op with NumPy broadcasting
    | Binary of OpKind * Desc * Desc
    /// cond ≠ 0 ? a : b
    | Where of Desc * Desc * Desc
    /// times a Param of shape [k, cols], or [lead…, k, cols] when batched
    | MatMul of batched: bool * cols: int * Desc
    | Transpose of perm: int list * Desc
    /// reshape to [count] (all dims fixed) or [n, count, 1]
    | Flatten of Desc
    /// broadcast to [lead, dims…]
    | Broadcast of lead: int * Desc
    | Concat of axis: int * Desc * Desc
    | Slice of axis: int * start: int * stop: int * Desc
    | Pad of axis: int * before: int * after: int * Desc
    /// Sum, Mean or ReduceMax over axes (all when empty)
    | Reduce of OpKind * axes: int list * keep: bool * Desc
    /// Softmax or LogSoftmax over one axis
    | Softmax of OpKind * axis: int * Desc
    /// with a kernel Param [kh, kw, cin, cout]; pads top, left, bottom, right
    | Conv of kh: int * kw: int * cout: int * strideH: int * strideW: int * pads: int list * Desc
    | Pool of OpKind * size: int * stride: int * Desc
    /// x · dropoutMask(x, 0.3)
    | Dropout of Desc
    /// x · oneHot(argMax(x, last axis))
    | OneHotMask of Desc
    /// gather(x, argMax(x, axis 0)): a fixed matrix as a table, rows picked by each column's arg-max
    | Gather of Desc
    /// rankSum(x): the identity in one process (the sums across ranks: Runtime.IR.Primitives.Collective)
    | RankSum of Desc

/// A generated graph: its roots (the loss is Σᵢ sum(rootᵢ ⊙ rᵢ) with fed random rᵢ) and the seed of its values.
type Case = { Roots: Desc list; Seed: int }

/// What the generator may use.
type DescOptions =
    { /// pooling with overlapping windows (stride < size), which has no second derivative rule
      Overlap: bool }

/// The elementwise ops without attribute: every unary definition but the parametric ones (leakyRelu, elu, generated
/// with their own slopes), read from the registry, so a new unary op is generated without editing this file.
let unaries =
    Primitives.Unaries
    |> Seq.filter (fun p -> not (p.GetType().BaseType.Name.StartsWith "ParametricPrimitive"))
    |> Seq.map (fun p -> p.Kind)
    |> List.ofSeq

let binaries =
    [ OpKind.Add; OpKind.Sub; OpKind.Mul; OpKind.Div; OpKind.Pow; OpKind.Max; OpKind.Min; OpKind.GreaterEqual
      OpKind.Equal ]

let private sp = span

/// The name of a leaf: x3 is an Input [n, 3], p2x3 a Param [2, 3] (p alone: a scalar); equal shapes share a node.
let leafName batch (dims: int list) =
    (if batch then "x" else "p") + String.Join("x", dims)

/// A description that does not build (a shape rule of the test's own, before GraphBuilder is asked).
exception Unbuildable of string

let private fixedSizes (s: Shape) = s.ToArray() |> Array.map (fun d -> if d.IsFixed then d.Size else -1)

/// The node of a description, built through GraphBuilder's public methods (ShapeException when ill-shaped).
let rec build (b: GraphBuilder) (d: Desc) : Node =
    let c (v: float) = b.Const(v, sp)
    let un op x = b.Unary(op, x, sp)
    let bin op x y = b.Binary(op, x, y, sp)
    let pos x = bin OpKind.Add (un OpKind.Square x) (c 0.5)
    let param (dims: int[]) = b.Param(leafName false (List.ofArray dims), Shape.Of dims, InitSpec.Zeros, sp)
    match d with
    | Leaf(true, dims) ->
        b.Input(leafName true dims, Shape(Array.append [| Dim.Sym "n" |] (dims |> List.map Dim.Of |> Array.ofList)), sp)
    | Leaf(false, dims) -> param (Array.ofList dims)
    | Unary((OpKind.Log | OpKind.Sqrt | OpKind.Reciprocal) as op, x) -> un op (pos (build b x))
    | Unary(OpKind.Exp, x) -> un OpKind.Exp (un OpKind.Tanh (build b x))
    | Unary(op, x) -> un op (build b x)
    | Alpha(op, alpha, x) -> b.Unary(op, build b x, sp, alpha)
    | Binary(OpKind.Div, x, y) -> bin OpKind.Div (build b x) (pos (build b y))
    | Binary(OpKind.Pow, x, y) -> bin OpKind.Pow (pos (build b x)) (un OpKind.Tanh (build b y))
    | Binary(op, x, y) -> bin op (build b x) (build b y)
    | Where(cond, x, y) -> b.Where(build b cond, build b x, build b y, sp)
    | MatMul(batched, cols, x) ->
        let x = build b x
        let s = fixedSizes x.Shape
        if s.[s.Length - 1] < 0 then raise (Unbuildable("symbolic inner dimension"))
        let lead = if batched && s.Length >= 3 && Array.forall (fun v -> v >= 0) s then s.[.. s.Length - 3] else [||]
        b.MatMul(x, param (Array.append lead [| s.[s.Length - 1]; cols |]), sp)
    | Transpose(perm, x) -> b.Transpose(build b x, sp, Array.ofList perm)
    | Flatten x ->
        let x = build b x
        let d = x.Shape.ToArray()
        if x.Shape.IsFixed then b.Reshape(x, Shape.Of(int x.Shape.FixedCount), sp)
        elif d.Length >= 2 && not d.[0].IsFixed && Shape(d.[1..]).IsFixed then
            b.Reshape(x, Shape(d.[0], Dim.Of(int (Shape(d.[1..]).FixedCount)), Dim.Of 1), sp)
        else raise (Unbuildable("flatten needs fixed dims after the first"))
    | Broadcast(lead, x) ->
        let x = build b x
        b.Broadcast(x, Shape(Array.append [| Dim.Of lead |] (x.Shape.ToArray())), sp)
    | Concat(axis, x, y) -> b.Concat([ build b x; build b y ], axis, sp)
    | Slice(axis, lo, hi, x) ->
        let x = build b x
        let r = x.Shape.Rank
        if axis >= r || not x.Shape.[axis].IsFixed || hi > x.Shape.[axis].Size || lo >= hi then
            raise (Unbuildable("slice out of range"))
        let at v other = Array.init r (fun i -> if i = axis then v else other)
        b.Slice(x, at lo 0, at hi (-1), sp)
    | Pad(axis, before, after, x) ->
        let x = build b x
        let r = x.Shape.Rank
        if axis >= r || not x.Shape.[axis].IsFixed then raise (Unbuildable("pad axis"))
        let at v = Array.init r (fun i -> if i = axis then v else 0)
        b.Pad(x, at before, at after, sp)
    | Reduce(op, axes, keep, x) -> b.Reduce(op, build b x, Array.ofList axes, keep, sp)
    | Softmax(op, axis, x) -> b.Softmax(op, build b x, axis, sp)
    | Conv(kh, kw, cout, sh, sw, pads, x) ->
        let x = build b x
        if x.Shape.Rank <> 4 || not x.Shape.[3].IsFixed then raise (Unbuildable("conv needs NHWC"))
        b.Conv2d(x, param [| kh; kw; x.Shape.[3].Size; cout |], sh, sw, Array.ofList pads, sp)
    | Pool(op, size, stride, x) -> b.Pool(op, build b x, size, stride, sp)
    | Dropout x -> let x = build b x in bin OpKind.Mul x (b.DropoutMask(x, 0.3, sp))
    | RankSum x -> b.RankSum(build b x, sp)
    | OneHotMask x ->
        let x = build b x
        if not x.Shape.[-1].IsFixed then raise (Unbuildable("one-hot width"))
        let arg = b.Add(OpKind.ArgMax, [| x |], OpAttrs(Axes = [| -1 |]), sp)
        bin OpKind.Mul x (b.OneHot(arg, x.Shape.[-1].Size, sp))
    | Gather x ->
        let x = build b x
        if x.Shape.Rank <> 2 || not x.Shape.IsFixed then raise (Unbuildable("gather needs a fixed [v, d] table"))
        b.Gather(x, b.Add(OpKind.ArgMax, [| x |], OpAttrs(Axes = [| 0 |]), sp), sp)

/// The shape of a description, or None when it does not build.
let tryShape (d: Desc) =
    try Some (build (GraphBuilder()) d).Shape with
    | Unbuildable _ | :? ShapeException | :? ArgumentException | :? IndexOutOfRangeException
    | :? InvalidOperationException -> None

/// The direct operands of a description and the same op over other operands.
let children d =
    match d with
    | Leaf _ -> []
    | Unary(_, x) | Alpha(_, _, x) | MatMul(_, _, x) | Transpose(_, x) | Flatten x | Broadcast(_, x) | Slice(_, _, _, x)
    | Pad(_, _, _, x) | Reduce(_, _, _, x) | Softmax(_, _, x) | Conv(_, _, _, _, _, _, x) | Pool(_, _, _, x)
    | Dropout x | OneHotMask x | Gather x | RankSum x -> [ x ]
    | Binary(_, x, y) | Concat(_, x, y) -> [ x; y ]
    | Where(c, x, y) -> [ c; x; y ]

let withChildren d (cs: Desc list) =
    match d, cs with
    | Unary(op, _), [ x ] -> Unary(op, x)
    | Alpha(op, a, _), [ x ] -> Alpha(op, a, x)
    | MatMul(bt, k, _), [ x ] -> MatMul(bt, k, x)
    | Transpose(p, _), [ x ] -> Transpose(p, x)
    | Flatten _, [ x ] -> Flatten x
    | Broadcast(l, _), [ x ] -> Broadcast(l, x)
    | Slice(a, lo, hi, _), [ x ] -> Slice(a, lo, hi, x)
    | Pad(a, p, q, _), [ x ] -> Pad(a, p, q, x)
    | Reduce(op, ax, k, _), [ x ] -> Reduce(op, ax, k, x)
    | Softmax(op, a, _), [ x ] -> Softmax(op, a, x)
    | Conv(kh, kw, co, sh, sw, p, _), [ x ] -> Conv(kh, kw, co, sh, sw, p, x)
    | Pool(op, s, st, _), [ x ] -> Pool(op, s, st, x)
    | Dropout _, [ x ] -> Dropout x
    | OneHotMask _, [ x ] -> OneHotMask x
    | Gather _, [ x ] -> Gather x
    | RankSum _, [ x ] -> RankSum x
    | Binary(op, _, _), [ x; y ] -> Binary(op, x, y)
    | Concat(a, _, _), [ x; y ] -> Concat(a, x, y)
    | Where _, [ c; x; y ] -> Where(c, x, y)
    | _ -> d

/// Whether a description keeps to the options (no overlapping max pool without Overlap).
let rec respects (opts: DescOptions) d =
    match d with
    | Pool(OpKind.MaxPool2d, size, stride, _) when not opts.Overlap && stride < size -> false
    | _ -> children d |> List.forall (respects opts)

/// Number of ops in a description (leaves count 0).
let rec opCount d = match d with Leaf _ -> 0 | _ -> 1 + (children d |> List.sumBy opCount)

// ---- generation ----

/// The sources of the seed generator (0GraphGen.fs): an input [n, 3], a vector, a matrix, a rank-3 tensor and an
/// NHWC image, and a second input [n, 4].
let private leafGen =
    Gen.elements
        [ Leaf(true, [ 3 ]); Leaf(false, [ 3 ]); Leaf(false, [ 3; 4 ]); Leaf(false, [ 2; 3; 4 ])
          Leaf(false, [ 2; 5; 5; 2 ]); Leaf(true, [ 4 ]) ]

/// A leaf of the given shape, when a leaf can have it (fixed dims, or a symbolic first dim and fixed others).
let private leafOfShape (s: Shape) =
    let d = s.ToArray()
    if s.IsFixed then Some(Leaf(false, d |> Array.map (fun d -> d.Size) |> List.ofArray))
    elif d.Length >= 1 && not d.[0].IsFixed && Shape(d.[1..]).IsFixed then
        Some(Leaf(true, d.[1..] |> Array.map (fun d -> d.Size) |> List.ofArray))
    else None

let private pick (xs: 'a list) = Gen.elements xs
let private upTo n = Gen.choose (0, n - 1)

/// A description with at most `budget` ops: an op over smaller descriptions, with attributes that fit their shapes;
/// when the chosen op does not fit, its operand alone (GraphBuilder's shape rules decide, not the test's).
let rec descGen (opts: DescOptions) (budget: int) : Gen<Desc> =
    if budget <= 0 then leafGen
    else
        gen {
            let! split = Gen.choose (0, (budget - 1) / 2)
            let! x = descGen opts (budget - 1 - split)
            let s = (tryShape x).Value
            let r = s.Rank
            let fixedAxes = [ for i in 0 .. r - 1 do if s.[i].IsFixed then yield i ]
            // a second operand: a leaf of x's shape (so that they broadcast) or another description
            let! other = descGen opts split
            let! sameShape = Gen.elements [ true; false ]
            let y = if sameShape then defaultArg (leafOfShape s) other else other
            let! choice = Gen.choose (0, 21)
            let! candidate =
                match choice with
                | 0 | 1 -> pick unaries |> Gen.map (fun op -> Unary(op, x))
                | 2 -> Gen.constant (Alpha(OpKind.LeakyRelu, 0.1, x))
                | 3 -> Gen.constant (Alpha(OpKind.Elu, 0.7, x))
                | 4 | 5 -> pick binaries |> Gen.map (fun op -> Binary(op, x, y))
                | 6 -> Gen.constant (Where(Binary(OpKind.GreaterEqual, x, y), x, y))
                | 7 -> Gen.map2 (fun bt k -> MatMul(bt, 1 + k, x)) (Gen.elements [ true; false ]) (upTo 3)
                | 8 -> Gen.shuffle [| 0 .. r - 1 |] |> Gen.map (fun p -> Transpose(List.ofArray p, x))
                | 9 -> Gen.constant (Flatten x)
                | 10 -> Gen.constant (Broadcast(2, x))
                | 11 when not fixedAxes.IsEmpty ->
                    pick fixedAxes |> Gen.map (fun a -> Concat(a, x, (if sameShape then x else y)))
                | 12 when not fixedAxes.IsEmpty ->
                    gen {
                        let! a = pick fixedAxes
                        let size = s.[a].Size
                        let! lo = upTo (max 1 (size - 1))
                        let! len = Gen.choose (1, max 1 (size - lo))
                        return Slice(a, lo, lo + len, x)
                    }
                | 13 when not fixedAxes.IsEmpty ->
                    Gen.map3 (fun a p q -> Pad(a, p, q, x)) (pick fixedAxes) (upTo 3) (upTo 3)
                | 14 | 15 ->
                    gen {
                        let! op = pick [ OpKind.Sum; OpKind.Mean; OpKind.ReduceMax ]
                        let! keep = Gen.listOfLength r (Gen.elements [ true; false ])
                        let! keepDims = Gen.elements [ true; false ]
                        return Reduce(op, [ for i in 0 .. r - 1 do if keep.[i] then yield i ], keepDims, x)
                    }
                | 16 when r > 0 ->
                    Gen.map2 (fun op a -> Softmax(op, a, x)) (pick [ OpKind.Softmax; OpKind.LogSoftmax ]) (upTo r)
                | 17 ->
                    gen {
                        let! kh, kw, cout = Gen.zip3 (Gen.choose (1, 3)) (Gen.choose (1, 3)) (Gen.choose (1, 3))
                        let! sh, sw = Gen.zip (Gen.choose (1, 2)) (Gen.choose (1, 2))
                        let! pads = Gen.listOfLength 4 (upTo 2)
                        return Conv(kh, kw, cout, sh, sw, pads, x)
                    }
                | 18 -> Gen.choose (1, 2) |> Gen.map (fun st -> Pool(OpKind.AvgPool2d, 2, st, x))
                | 19 ->
                    Gen.choose ((if opts.Overlap then 1 else 2), 2)
                    |> Gen.map (fun st -> Pool(OpKind.MaxPool2d, 2, st, x))
                | 20 -> Gen.elements [ Dropout x; RankSum x ]
                | _ when r = 2 && s.IsFixed -> Gen.elements [ OneHotMask x; Gather x ]
                | _ -> Gen.constant (OneHotMask x)
            return if respects opts candidate && (tryShape candidate).IsSome then candidate else x
        }

/// One to three roots of about 3–15 ops in all (growing with FsCheck's size), and a seed for the values.
let caseGen (opts: DescOptions) =
    Gen.sized (fun size ->
        gen {
            let budget = 3 + min 12 (size / 7)
            let! roots = Gen.choose (1, 3)
            let! descs = Gen.listOfLength roots (descGen opts ((budget + roots - 1) / roots))
            let! seed = Gen.choose (0, 0x3FFFFFFF)
            return { Roots = descs; Seed = seed }
        })

// ---- shrinking ----

/// The same op, simpler: a plainer op kind or smaller attributes.
let private simpler d =
    [ match d with
      | Unary(op, x) when op <> OpKind.Neg -> yield Unary(OpKind.Neg, x)
      | Alpha(_, _, x) -> yield Unary(OpKind.Neg, x)
      | Binary(op, x, y) when op <> OpKind.Add -> yield Binary(OpKind.Add, x, y)
      | Where(_, x, y) -> yield Binary(OpKind.Max, x, y)
      | MatMul(bt, k, x) ->
          if bt then yield MatMul(false, k, x)
          if k > 1 then yield MatMul(bt, 1, x)
      | Transpose(p, x) when p <> List.sort p -> yield Transpose(List.sort p, x)
      | Slice(a, lo, hi, x) ->
          if lo > 0 then yield Slice(a, 0, hi - lo, x)
          if hi - lo > 1 then yield Slice(a, lo, lo + 1, x)
      | Pad(a, p, q, x) ->
          if p > 0 then yield Pad(a, 0, q, x)
          if q > 0 then yield Pad(a, p, 0, x)
      | Reduce(op, axes, keep, x) ->
          if op <> OpKind.Sum then yield Reduce(OpKind.Sum, axes, keep, x)
          if keep then yield Reduce(op, axes, false, x)
          if axes.Length > 1 then for i in 0 .. axes.Length - 1 do yield Reduce(op, List.removeAt i axes, keep, x)
      | Softmax(OpKind.LogSoftmax, a, x) -> yield Softmax(OpKind.Softmax, a, x)
      | Conv(kh, kw, co, sh, sw, pads, x) ->
          if kh > 1 || kw > 1 then yield Conv(1, 1, co, sh, sw, pads, x)
          if co > 1 then yield Conv(kh, kw, 1, sh, sw, pads, x)
          if sh > 1 || sw > 1 then yield Conv(kh, kw, co, 1, 1, pads, x)
          if List.exists ((<>) 0) pads then yield Conv(kh, kw, co, sh, sw, [ 0; 0; 0; 0 ], x)
      | Pool(OpKind.MaxPool2d, size, stride, x) -> yield Pool(OpKind.AvgPool2d, size, stride, x)
      | _ -> () ]

/// Smaller descriptions: a source or an operand instead of the op, a simpler op, smaller operands; for a leaf, fewer or
/// smaller dims. Some do not build; `shrinkCase` drops those.
let rec shrinkDesc d : seq<Desc> =
    seq {
        match d with
        | Leaf(batch, dims) ->
            for i in 0 .. dims.Length - 1 do
                yield Leaf(batch, List.removeAt i dims)
                if dims.[i] > 2 then yield Leaf(batch, List.updateAt i (dims.[i] - 1) dims)
                if dims.[i] > 1 then yield Leaf(batch, List.updateAt i 1 dims)
        | _ ->
            let cs = children d
            // a source of the same shape instead of the whole subtree, then an operand instead of the op
            match tryShape d |> Option.bind leafOfShape with
            | Some leaf -> yield leaf
            | None -> ()
            yield! cs
            yield! simpler d
            for i in 0 .. cs.Length - 1 do
                for c in shrinkDesc cs.[i] do yield withChildren d (List.updateAt i c cs)
    }

/// Whether a case builds and keeps to the options.
let validCase (opts: DescOptions) (c: Case) =
    not c.Roots.IsEmpty && c.Roots |> List.forall (fun d -> respects opts d && (tryShape d).IsSome)

/// Fewer roots, or one root shrunk; only cases that build (a shrink must not fail for another reason).
let shrinkCase (opts: DescOptions) (c: Case) =
    seq {
        if c.Roots.Length > 1 then
            for i in 0 .. c.Roots.Length - 1 do yield { c with Roots = List.removeAt i c.Roots }
        for i in 0 .. c.Roots.Length - 1 do
            for d in shrinkDesc c.Roots.[i] do yield { c with Roots = List.updateAt i d c.Roots }
    }
    |> Seq.filter (validCase opts)

// ---- printing ----

let private word (op: OpKind) = let s = string op in string (Char.ToLowerInvariant s.[0]) + s.[1..]

/// The graph in a few lines: its sources, one line per op with its shape, the loss and the seed of the values.
let show (c: Case) =
    let b = GraphBuilder()
    let lines = ResizeArray<string>()
    let sources = SortedSet<string>()
    let names = Dictionary<Desc, string>(HashIdentity.Structural)
    let rec name d =
        match names.TryGetValue d with
        | true, n -> n
        | _ ->
            let n =
                match d with
                | Leaf(batch, dims) ->
                    let n = leafName batch dims
                    sources.Add(sprintf "%s %O" n (build b d).Shape) |> ignore
                    n
                | _ ->
                    let a = children d |> List.map name |> Array.ofList
                    let node = build b d
                    let operand i = node.Inputs.[i].Name
                    let text =
                        match d with
                        | Unary((OpKind.Log | OpKind.Sqrt | OpKind.Reciprocal) as op, _) ->
                            sprintf "%s(%s²+½)" (word op) a.[0]
                        | Unary(OpKind.Exp, _) -> sprintf "exp(tanh %s)" a.[0]
                        | Unary(op, _) -> sprintf "%s %s" (word op) a.[0]
                        | Alpha(op, alpha, _) -> sprintf "%s(%s, %g)" (word op) a.[0] alpha
                        | Binary(OpKind.Div, _, _) -> sprintf "%s / (%s²+½)" a.[0] a.[1]
                        | Binary(OpKind.Pow, _, _) -> sprintf "(%s²+½) ** tanh %s" a.[0] a.[1]
                        | Binary(op, _, _) -> sprintf "%s(%s, %s)" (word op) a.[0] a.[1]
                        | Where _ -> sprintf "where(%s, %s, %s)" a.[0] a.[1] a.[2]
                        | MatMul _ -> sprintf "matMul(%s, %s)" a.[0] (operand 1)
                        | Transpose(p, _) -> sprintf "transpose(%s, %A)" a.[0] p
                        | Flatten _ -> sprintf "reshape %s" a.[0]
                        | Broadcast _ -> sprintf "broadcast %s" a.[0]
                        | Concat(ax, _, _) -> sprintf "concat(%s, %s, axis %d)" a.[0] a.[1] ax
                        | Slice(ax, lo, hi, _) -> sprintf "slice(%s, axis %d, %d..%d)" a.[0] ax lo (hi - 1)
                        | Pad(ax, p, q, _) -> sprintf "pad(%s, axis %d, %d before, %d after)" a.[0] ax p q
                        | Reduce(op, axes, keep, _) ->
                            sprintf "%s(%s, axes %A%s)" (word op) a.[0] axes (if keep then ", keepDims" else "")
                        | Softmax(op, ax, _) -> sprintf "%s(%s, axis %d)" (word op) a.[0] ax
                        | Conv(_, _, _, sh, sw, pads, _) ->
                            sprintf "conv2d(%s, %s, stride %dx%d, pads %A)" a.[0] (operand 1) sh sw pads
                        | Pool(op, size, stride, _) -> sprintf "%s(%s, size %d, stride %d)" (word op) a.[0] size stride
                        | Dropout _ -> sprintf "%s * dropoutMask(%s, 0.3)" a.[0] a.[0]
                        | OneHotMask _ -> sprintf "%s * oneHot(argMax(%s, -1))" a.[0] a.[0]
                        | Gather _ -> sprintf "gather(%s, argMax(%s, 0))" a.[0] a.[0]
                        | RankSum _ -> sprintf "rankSum(%s)" a.[0]
                        | Leaf _ -> ""
                    for i in node.Inputs do
                        if i.Op = OpKind.Param && i.Name.StartsWith "p" then
                            sources.Add(sprintf "%s %O" i.Name i.Shape) |> ignore
                    let v = sprintf "t%d" (lines.Count + 1)
                    lines.Add(sprintf "  %s = %s  : %O" v text node.Shape)
                    v
            names.[d] <- n
            n
    let roots = c.Roots |> List.mapi (fun i d -> sprintf "sum(%s * r%d)" (name d) i)
    String.Join("\n",
        [ yield "sources: " + String.Join(", ", sources)
          yield! lines
          yield "  loss = " + String.Join(" + ", roots)
          yield sprintf "values from seed %d" c.Seed ])

// ---- graphs with their gradients ----

/// The loss Σᵢ sum(rootᵢ ⊙ rᵢ), with each rᵢ an Input fed random values.
let lossOf (b: GraphBuilder) (roots: Desc list) =
    roots
    |> List.mapi (fun i d ->
        let n = build b d
        b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, n, b.Input(sprintf "r%d" i, n.Shape, sp), sp), [||], false, sp))
    |> List.reduce (fun x y -> b.Binary(OpKind.Add, x, y, sp))

/// What gradients are taken with respect to: every Param and every leaf Input (x…).
let wrtOfLeaves (b: GraphBuilder) =
    b.Nodes
    |> Seq.filter (fun n -> n.Op = OpKind.Param || (n.Op = OpKind.Input && n.Name.StartsWith "x"))
    |> Array.ofSeq

/// A generated case with its loss and gradients (GraphGen's GradCase, so its helpers apply).
let gradCaseOf (c: Case) =
    let b = GraphBuilder()
    let loss = lossOf b c.Roots
    let wrt = wrtOfLeaves b
    { B = b; Loss = loss; Wrt = wrt; Grads = Autodiff.Backward.Gradients(b, loss, wrt); Seed = c.Seed }

// ---- FsCheck ----

/// Any generated graph (the printed counterexample is `show`'s text).
[<StructuredFormatDisplay("{Text}")>]
type AnyGraph =
    | AnyGraph of Case
    member g.Case = let (AnyGraph c) = g in c
    member g.Text = "\n" + show g.Case
    override g.ToString() = g.Text

/// A generated graph without overlapping max pools (whose gradient has no second derivative rule).
[<StructuredFormatDisplay("{Text}")>]
type SmoothGraph =
    | SmoothGraph of Case
    member g.Case = let (SmoothGraph c) = g in c
    member g.Text = "\n" + show g.Case
    override g.ToString() = g.Text

let anyOptions = { Overlap = true }
let smoothOptions = { Overlap = false }

/// The arbitraries of the graph properties, passed through the test config.
type GraphArbitraries =
    static member Any() : Arbitrary<AnyGraph> =
        Arb.fromGenShrink (caseGen anyOptions, shrinkCase anyOptions) |> Arb.convert AnyGraph (fun g -> g.Case)
    static member Smooth() : Arbitrary<SmoothGraph> =
        Arb.fromGenShrink (caseGen smoothOptions, shrinkCase smoothOptions) |> Arb.convert SmoothGraph (fun g -> g.Case)

/// A property config with the graph arbitraries and `n` cases.
let graphConfig n = { FsCheckConfig.defaultConfig with arbitrary = [ typeof<GraphArbitraries> ]; maxTest = n }
