/// Tensor built-ins: layout, reductions, normalised exponentials, convolution, training-time layers, initializers.
module internal Nn.Compiler.Builtins.Layers

open Nn.Dsl
open Nn.Runtime.IR
open Nn.Runtime.Kernels
open Nn.Compiler
open Nn.Compiler.Context
open Nn.Compiler.Tensors
open Nn.Compiler.Builtins.Define

let private tensorArg name doc (v, s) =
    match v with
    | VTensor n -> n
    | _ -> expects name doc s v

let private axesOf (span: Span) v =
    match v with
    | VList items -> items |> List.map (intOf span) |> Array.ofList
    | v -> [| intOf span v |]

let private reduction name op =
    fn name 2 "an axis (or a list of axes) and a tensor" (fun ctx span args ->
        let (axes, axSpan), x = args2 args
        let x = tensorArg name "a tensor after the axis" x
        let axes = axesOf axSpan axes
        VTensor(graph ctx span (fun src -> ctx.Builder.Reduce(op, x, axes, true, src))))

let private reduceAll name op =
    fn name 1 "a tensor" (fun ctx span args ->
        let x = tensorArg name "a tensor" (args1 args)
        VTensor(graph ctx span (fun src -> ctx.Builder.Reduce(op, x, [||], false, src))))

let private softmaxLike name op =
    fn name 1 "a tensor" (fun ctx span args ->
        let x = tensorArg name "a tensor" (args1 args)
        VTensor(graph ctx span (fun src -> ctx.Builder.Softmax(op, x, -1, src))))

let private field (fields: RecordField list) name =
    fields |> List.tryFind (fun f -> f.Name = name)

/// The settings record of a window built-in (`conv2d`'s, or a pooling's): each field checked where the user wrote it
/// (the whole record when it was written in the prelude). `size` is a pooling's window; `stride` defaults to
/// `defaultStride size`; `padding` is `same`, `valid` (the default) or a number of 0 or more.
let internal windowSettings name (fields: string list) (defaultStride: int -> int) (cfgSpan: Span) (cfg: Value) =
    let pooling = List.contains "size" fields
    let example = if pooling then "{ size = 2; stride = 2; padding = valid }" else "{ stride = 1; padding = same }"
    let given =
        match cfg with
        | VRecord fs -> fs
        | v -> expects name (sprintf "settings such as %s" example) cfgSpan v
    let at (s: Span) = if s.File = preludeFile then cfgSpan else s
    let names =
        let quoted = fields |> List.map (sprintf "`%s`")
        String.concat ", " (List.take (quoted.Length - 1) quoted) + " and " + List.last quoted
    for f in given do
        if not (List.contains f.Name fields) then
            fail "NN0306" (at f.NameSpan) (sprintf "`%s` has no setting `%s` (it has %s)" name f.Name names)
    let positive what (f: RecordField) =
        let v = intOf (at f.Span) f.Value
        if v <= 0 then fail "NN0306" (at f.Span) (sprintf "`%s` needs a positive %s, got %d" name what v)
        v
    let size =
        match field given "size" with
        | Some f -> positive "window size" f
        | None when pooling -> fail "NN0306" cfgSpan (sprintf "`%s` needs a window `size`, as in %s" name example)
        | None -> 0
    let stride = field given "stride" |> Option.map (positive "stride") |> Option.defaultValue (defaultStride size)
    let padding =
        match field given "padding" with
        | None -> Padding.Valid
        | Some f ->
            match f.Value with
            | VSymbol "valid" -> Padding.Valid
            | VSymbol "same" -> Padding.Same
            | VNum _ as p ->
                let p = intOf (at f.Span) p
                if p < 0 then fail "NN0306" (at f.Span) (sprintf "`%s` needs a padding of 0 or more, got %d" name p)
                // PyTorch's rule: a pooling window is never made of padding alone
                if pooling && p > size / 2 then
                    let message = sprintf "`%s` pads at most half its window (%d), got %d" name (size / 2) p
                    fail "NN0306" (at f.Span) message
                Padding.Explicit p
            | v -> expects name "padding `same`, `valid` or a number" (at f.Span) v
    size, stride, padding

/// The four paddings (top, left, bottom, right) of a kh×kw window over x, from the one geometry definition
/// (WindowGeometry). An image without fixed height and width gets none: the shape rule reports it.
let private padsOf (x: Node) kh kw stride padding =
    if x.Shape.Rank = 4 && x.Shape[1].IsFixed && x.Shape[2].IsFixed && kh > 0 && kw > 0 then
        WindowGeometry.Of(x.Shape[1].Size, x.Shape[2].Size, kh, kw, stride, stride, padding).Pads
    else [| 0; 0; 0; 0 |]

/// conv2d { stride = 1; padding = same } kernel image
let private conv2d =
    fn "conv2d" 3 ("settings { stride; padding }, a kernel [kh, kw, cin, cout] "
                   + "and an image [n, h, w, c]") (fun ctx span args ->
        let (cfg, cfgSpan), k, x = args3 args
        let _, stride, padding = windowSettings "conv2d" [ "stride"; "padding" ] (fun _ -> 1) cfgSpan cfg
        let k = tensorArg "conv2d" "a kernel tensor [kh, kw, cin, cout]" k
        let x = tensorArg "conv2d" "an image tensor [n, h, w, c]" x
        let kh, kw =
            if k.Shape.Rank = 4 && k.Shape[0].IsFixed && k.Shape[1].IsFixed then k.Shape[0].Size, k.Shape[1].Size
            else 0, 0
        let pads = padsOf x kh kw stride padding
        VTensor(graph ctx span (fun src -> ctx.Builder.Conv2d(x, k, stride, stride, pads, src))))

/// maxPool2d 2 image, or maxPool2d { size = 3; stride = 2; padding = same } image (stride = size unless given)
let private pool name op =
    fn name 2 "a window size (or settings { size; stride; padding }) and an image [n, h, w, c]" (fun ctx span args ->
        let (cfg, cSpan), x = args2 args
        let size, stride, padding =
            match cfg with
            | VRecord _ -> windowSettings name [ "size"; "stride"; "padding" ] id cSpan cfg
            | VNum _ ->
                let size = intOf cSpan cfg
                if size <= 0 then fail "NN0306" cSpan (sprintf "`%s` needs a positive window size, got %d" name size)
                size, size, Padding.Valid
            | v -> expects name "a window size or settings such as { size = 2; stride = 2; padding = valid }" cSpan v
        let x = tensorArg name "an image tensor [n, h, w, c]" x
        let pads = padsOf x size size stride padding
        VTensor(graph ctx span (fun src -> ctx.Builder.Pool(op, x, size, stride, pads, src))))

let private reshape =
    fn "reshape" 2 "a shape such as [28; 28] and a tensor" (fun ctx span args ->
        let (dims, dSpan), x = args2 args
        let x = tensorArg "reshape" "a tensor after the shape" x
        let target = shapeOf dSpan dims
        // A target without the batch axis keeps the input's first axis (`reshape [28; 28]` on [n, 784]).
        let target =
            if x.Shape.Rank > 0 && not x.Shape[0].IsFixed && (target.Rank = 0 || target[0] <> x.Shape[0]) then
                Shape(Array.append [| x.Shape[0] |] (target.ToArray()))
            else target
        VTensor(graph ctx span (fun src -> ctx.Builder.Reshape(x, target, src))))

let private flatten =
    fn "flatten" 1 "a tensor [n, ...]" (fun ctx span args ->
        let x = tensorArg "flatten" "a tensor [n, ...]" (args1 args)
        if x.Shape.Rank < 2 then VTensor x
        else
            let rest = x.Shape.ToArray()[1..]
            if rest |> Array.exists (fun d -> not d.IsFixed) then
                fail "NN0204" span
                    (sprintf "`flatten` needs fixed sizes after the first axis, but the value is %O" x.Shape)
            let size = rest |> Array.fold (fun acc d -> acc * d.Size) 1
            VTensor(graph ctx span (fun src -> ctx.Builder.Reshape(x, Shape(x.Shape[0], Dim.Of size), src))))

let private transpose =
    fn "transpose" 1 "a tensor with two or more axes" (fun ctx span args ->
        let x = tensorArg "transpose" "a tensor" (args1 args)
        if x.Shape.Rank < 2 then
            fail "NN0202" span (sprintf "`transpose` needs two or more axes, but the value is %O" x.Shape)
        VTensor(graph ctx span (fun src -> ctx.Builder.Transpose(x, src))))

let private concat =
    fn "concat" 2 "an axis and a list of tensors" (fun ctx span args ->
        let (axis, aSpan), (xs, xsSpan) = args2 args
        let axis = intOf aSpan axis
        let xs =
            match xs with
            | VList items -> items |> List.map (fun v -> tensorArg "concat" "a list of tensors" (v, xsSpan))
            | v -> expects "concat" "a list of tensors" xsSpan v
        VTensor(graph ctx span (fun src -> ctx.Builder.Concat(List.toArray xs, axis, src))))

/// Class indices (floats, [..] or [.., 1]) to one-hot rows of `k` classes (Keras' `tf.one_hot(t, k)`, PyTorch's
/// `F.one_hot(t, k)`): what a loss written in the language makes of a classification label. An index outside
/// 0..k-1 gives a row of zeros; there is no gradient with respect to the indices.
let private oneHot =
    fn "oneHot" 2 "a number of classes and a tensor of class indices" (fun ctx span args ->
        let (k, kSpan), t = args2 args
        let k = intOf kSpan k
        if k < 1 then fail "NN0306" kSpan (sprintf "`oneHot` needs a number of classes of at least 1, got %d" k)
        let t = tensorArg "oneHot" "a tensor of class indices" t
        VTensor(graph ctx span (fun src -> ctx.Builder.OneHot(t, k, src))))

let private dropout =
    fn "dropout" 2 "a probability and a tensor" (fun ctx span args ->
        let (p, pSpan), x = args2 args
        let p = numOf pSpan p
        if p < 0.0 || p >= 1.0 then
            fail "NN0306" pSpan (sprintf "`dropout` needs a probability in [0, 1), got %s" (showNumber p))
        let x = tensorArg "dropout" "a tensor" x
        if not ctx.Training || p = 0.0 then VTensor x
        else
            graph ctx span (fun src ->
                let mask = ctx.Builder.DropoutMask(x, p, src)
                VTensor(ctx.Builder.Binary(OpKind.Mul, x, mask, src))))

/// Batch normalization over every axis but the last (the runtime's Layers.BatchNorm): batch statistics while
/// training (the running statistics' updates are recorded in the forward context), running statistics otherwise.
let private batchNorm =
    fn "batchNorm" 1 "a tensor [n, ..., c]" (fun ctx span args ->
        let x = tensorArg "batchNorm" "a tensor" (args1 args)
        inScope ctx "batchNorm" (fun () ->
            let p = path ctx
            VTensor(graph ctx span (fun src -> Nn.Runtime.Ops.Layers.BatchNorm(ctx.Forward, x, p, src)))))

let private initializer name (make: float list -> InitSpec) arity doc =
    fn name arity doc (fun _ _ args -> VInit(make (args |> List.map (fun (v, s) -> numOf s v))))

/// Initializers that take numbers; the others are plain names (see Table).
let initializers: Builtin list =
    [ initializer "constant" (fun a -> InitSpec("constant", a[0])) 1 "a number"
      initializer "normal" (fun a -> InitSpec("normal", a[0])) 1 "a standard deviation"
      initializer "uniform" (fun a -> InitSpec("uniform", a[0], a[1])) 2 "a low and a high bound" ]

/// All tensor built-ins of this module.
let all: Builtin list =
    [ reduction "sum" OpKind.Sum
      reduction "mean" OpKind.Mean
      reduction "reduceMax" OpKind.ReduceMax
      reduceAll "sumAll" OpKind.Sum
      reduceAll "meanAll" OpKind.Mean
      softmaxLike "softmax" OpKind.Softmax
      softmaxLike "logSoftmax" OpKind.LogSoftmax
      conv2d
      pool "maxPool2d" OpKind.MaxPool2d
      pool "avgPool2d" OpKind.AvgPool2d
      reshape
      flatten
      transpose
      concat
      oneHot
      dropout
      batchNorm ]
    @ initializers
