/// Tensors as sequences: slicing (`x.[*, 3, *]`, `x.[*, 1..5, *]`, the syntax's one meaning, shared by `unstack`),
/// `unstack`/`stack` between a tensor and a static list of tensors, and `gather` (rows of a table by ids).
/// Slices and stacks are the runtime's Slice, Reshape and Concat nodes; `gather` is its own primitive.
module internal Nn.Compiler.Builtins.Sequences

open Nn.Dsl
open Nn.Runtime.IR
open Nn.Compiler
open Nn.Compiler.Context
open Nn.Compiler.Builtins.Define

/// One axis of a slice, its numbers evaluated: the whole axis (`*`), one index (the axis is dropped, as F# drops it:
/// `m.[*, 3]` of a matrix is a vector), or an inclusive range with either end optional (`1..5`, `..4`, `2..`).
type Pick =
    | Whole
    | At of index: int * span: Span
    | Between of lo: int option * hi: int option * span: Span

/// `x.[picks]`: one pick per axis, axes not mentioned taken whole (NumPy's rule; F# asks for all of them). A range
/// outside a fixed axis is NN0220, more picks than axes NN0221; a variable axis (the batch) can only be taken whole
/// (the runtime's slice rule says so, NN0208).
let slice (ctx: EvalContext) (span: Span) (x: Node) (picks: Pick list) : Node =
    let shape = x.Shape
    if picks.Length > shape.Rank then
        fail "NN0221" span (sprintf "%d slice entries for a value with %d axes (%O)" picks.Length shape.Rank shape)
    let outside axis what (s: Span) =
        let d = shape[axis]
        fail "NN0220" s (sprintf "%s is outside axis %d of %O (0..%d)" what axis shape (d.Size - 1))
    let bounds =
        [ for i in 0 .. shape.Rank - 1 ->
              let fixedSize = if shape[i].IsFixed then Some shape[i].Size else None
              match (if i < picks.Length then picks[i] else Whole) with
              | Whole -> 0, -1
              | At(k, s) ->
                  match fixedSize with
                  | Some size when k < 0 || k >= size -> outside i (sprintf "index %d" k) s
                  | _ -> k, k + 1
              | Between(lo, hi, s) ->
                  let a = defaultArg lo 0
                  match fixedSize with
                  | Some size ->
                      let b = defaultArg hi (size - 1)
                      if a < 0 || b >= size || a > b then outside i (sprintf "slice %d..%d" a b) s
                  | None -> ()
                  a, (match hi with Some b -> b + 1 | None -> -1) ]
    let starts = bounds |> List.map fst |> Array.ofList
    let stops = bounds |> List.map snd |> Array.ofList
    graph ctx span (fun src ->
        let y = ctx.Builder.Slice(x, starts, stops, src)
        let dropped = picks |> List.mapi (fun i p -> match p with At _ -> Some i | _ -> None) |> List.choose id
        if dropped.IsEmpty then y
        else
            let kept = y.Shape.ToArray() |> Array.indexed |> Array.filter (fun (i, _) -> not (List.contains i dropped))
            ctx.Builder.Reshape(y, Shape(Array.map snd kept), src))

let private tensorArg name doc (v, s) =
    match v with
    | VTensor n -> n
    | _ -> expects name doc s v

/// unstack axis x: the slices of x along a fixed axis, that axis dropped (`unstack 1` of [n, t, f] is t tensors
/// [n, f]: PyTorch's `torch.unbind`, TensorFlow's `tf.unstack`).
let private unstack =
    fn "unstack" 2 "an axis and a tensor" (fun ctx span args ->
        let (axis, aSpan), x = args2 args
        let x = tensorArg "unstack" "a tensor after the axis" x
        let rank = x.Shape.Rank
        let axis = graph ctx aSpan (fun _ -> ShapeRules.Axis(Tensors.intOf aSpan axis, rank, "unstack"))
        if not x.Shape[axis].IsFixed then
            fail "NN0220" span
                (sprintf "`unstack` needs an axis of fixed size, but axis %d of %O has the variable size %O"
                    axis x.Shape x.Shape[axis])
        VList(List.init x.Shape[axis].Size (fun k ->
            let picks = List.init rank (fun i -> if i = axis then At(k, span) else Whole)
            VTensor(slice ctx span x picks))))

/// stack axis xs: tensors of one shape joined along a new axis (`stack 1` of t tensors [n, f] is [n, t, f]: PyTorch's
/// `torch.stack`, NumPy's `np.stack`); the inverse of `unstack`.
let private stack =
    fn "stack" 2 "an axis and a list of tensors" (fun ctx span args ->
        let (axis, aSpan), (xs, xsSpan) = args2 args
        let xs =
            match xs with
            | VList items -> items |> List.map (fun v -> tensorArg "stack" "a list of tensors" (v, xsSpan))
            | v -> expects "stack" "a list of tensors" xsSpan v
        match xs with
        | [] -> fail "NN0222" xsSpan "`stack` needs at least one tensor, but the list is empty"
        | first :: _ ->
            xs |> List.iteri (fun i x ->
                if not (x.Shape.Equals first.Shape) then
                    fail "NN0222" xsSpan
                        (sprintf "`stack` needs tensors of one shape, but item 0 is %O and item %d is %O"
                            first.Shape i x.Shape))
            let rank = first.Shape.Rank
            let axis = graph ctx aSpan (fun _ -> ShapeRules.Axis(Tensors.intOf aSpan axis, rank + 1, "stack"))
            graph ctx span (fun src ->
                let dims = first.Shape.ToArray()
                let target = Shape(Array.concat [ dims[.. axis - 1]; [| Dim.Of 1 |]; dims[axis ..] ])
                let rows = xs |> List.map (fun x -> ctx.Builder.Reshape(x, target, src))
                VTensor(if rows.Length = 1 then rows.Head else ctx.Builder.Concat(List.toArray rows, axis, src))))

/// The first parameter a node depends on, if any (ids computed from parameters would have no gradient).
let private paramBehind (x: Node) =
    let seen = System.Collections.Generic.HashSet<int>()
    let rec go (n: Node) =
        if not (seen.Add n.Id) then None
        elif n.Op = OpKind.Param then Some n.Name
        else n.Inputs |> Seq.tryPick go
    go x

/// gather table ids: rows of a table [v, d] picked by whole-number ids of any shape [..] → [.., d] (Keras'
/// `Embedding`, PyTorch's `F.embedding`). Ids are data (an input, or computed from inputs without parameters);
/// an id outside 0..v-1 is a run-time error at this line (NN0546).
let private gather =
    fn "gather" 2 "a table [v, d] and a tensor of ids" (fun ctx span args ->
        let table, (ids, idsSpan) = args2 args
        let table = tensorArg "gather" "a table tensor [v, d]" table
        let ids =
            match ids with
            | VTensor n -> n
            | v ->
                fail "NN0224" idsSpan
                    (sprintf "`gather` needs its ids as a tensor of whole numbers, but got %s" (Value.describe v))
        match paramBehind ids with
        | Some p ->
            fail "NN0224" idsSpan
                (sprintf "`gather` needs ids that are data (whole numbers from an input), but these depend on the "
                 + sprintf "parameter `%s`" p)
        | None -> ()
        VTensor(graph ctx span (fun src -> ctx.Builder.Gather(table, ids, src))))

/// All built-ins of this module.
let all: Builtin list = [ gather; unstack; stack ]
