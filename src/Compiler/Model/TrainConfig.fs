/// The typed settings of a `train` block, read from the evaluated record with every field's default.
module Nn.Compiler.TrainConfig

open Nn.Dsl
open Nn.Compiler.Context
open Nn.Compiler.Tensors

/// A column of a CSV file, by header name or 0-based index.
type Column =
    | ByName of string
    | ByIndex of int

/// Where the training data comes from.
type DataSource =
    /// rows [ [0; 0], [0] ... ]: literal (features, target) pairs
    | Rows of features: float[][] * targets: float[][]
    /// idx "images" "labels" (labels optional, for unsupervised training)
    | Idx of images: string * labels: string option
    /// csv "file" { features = [..]; label = .. }
    | Csv of path: string * features: Column list * label: Column option
    /// npy "features" "targets"
    | Npy of features: string * targets: string option
    /// generate count f { low; high; noise }: x uniform in [low, high], y = f x + noise·N(0, 1)
    | Generate of count: int * f: (float -> float) * low: float * high: float * noise: float

type Optimizer =
    { Kind: string
      Lr: float
      Momentum: float
      Nesterov: bool
      Beta1: float
      Beta2: float
      Eps: float
      WeightDecay: float
      Rho: float }

type Schedule =
    { Kind: string
      Every: int
      Factor: float
      Rate: float
      Warmup: int
      Min: float
      Patience: int
      Monitor: string }

type EarlyStopping = { Monitor: string; Patience: int }

/// Every setting of a `train` block. Defaults are documented in docs/language.md.
type TrainConfig =
    { Network: string
      Span: Span
      Data: DataSource
      DataSpan: Span
      /// the target as an expression of `input` (unsupervised training), or None for the data's targets
      Target: Expr option
      Validation: float
      /// visit the training rows in a new order every epoch (default true; `shuffle = false` turns it off)
      Shuffle: bool
      /// `shuffle = true` written in the block: also shuffle the rows once, before the validation split
      /// (for files sorted by class); without it the validation rows are the file's last rows
      ShuffleRows: bool
      Loss: string
      HuberDelta: float
      Metrics: string list
      Optimizer: Optimizer
      Schedule: Schedule option
      L1: float
      L2: float
      ClipNorm: float option
      ClipValue: float option
      Batch: int
      Epochs: int
      Stop: EarlyStopping option
      Checkpoint: string option
      Seed: int
      /// where each field was written, for errors found later (data files, run time)
      FieldSpans: Map<string, Span> }

let private losses = [ "mse"; "mae"; "huber"; "binaryCrossEntropy"; "softmaxCrossEntropy"; "crossEntropy" ]
let private monitors = [ "loss"; "accuracy"; "validationLoss"; "validationAccuracy" ]

let fieldNames =
    [ "data"; "target"; "validation"; "shuffle"; "loss"; "metrics"; "optimizer"; "schedule"; "regularize"
      "clip"; "batch"; "epochs"; "stop"; "checkpoint"; "seed" ]

let defaultOptimizer =
    { Kind = "sgd"; Lr = 0.01; Momentum = 0.0; Nesterov = false; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8
      WeightDecay = 0.0; Rho = 0.9 }

let private settings (kindName: string) (allowed: string list) (span: Span) (args: (Value * Span) list) =
    match args with
    | [] -> []
    | [ VRecord fields, s ] ->
        for (name, _) in fields do
            if not (List.contains name allowed) then
                let hint = match suggest name allowed with Some h -> sprintf "; did you mean `%s`?" h | None -> ""
                fail "NN0402" s (sprintf "`%s` has no setting `%s` (it has %s)%s" kindName name (allowed |> List.map (sprintf "`%s`") |> String.concat ", ") hint)
        fields
    | (v, s) :: _ -> fail "NN0402" s (sprintf "`%s` expects settings such as { %s = ... }, but got %s" kindName allowed.Head (Value.describe v))

let private num (fields: (string * Value) list) name dflt span =
    match fields |> List.tryFind (fst >> (=) name) with
    | Some(_, v) -> numOf span v
    | None -> dflt

let private optimizer (v: Value) (span: Span) : Optimizer =
    match v with
    | VConfig(("sgd" | "adam" | "adamW" | "rmsprop" | "adagrad") as kind, args) ->
        let allowed =
            match kind with
            | "sgd" -> [ "lr"; "momentum"; "nesterov" ]
            | "adam" -> [ "lr"; "beta1"; "beta2"; "eps" ]
            | "adamW" -> [ "lr"; "beta1"; "beta2"; "eps"; "weightDecay" ]
            | "rmsprop" -> [ "lr"; "rho"; "eps"; "momentum" ]
            | _ -> [ "lr"; "eps" ]
        let f = settings kind allowed span args
        let d = defaultOptimizer
        let defaultLr = match kind with "sgd" -> 0.01 | "adagrad" -> 0.01 | _ -> 1e-3
        let defaultEps = match kind with "adagrad" -> 1e-10 | _ -> 1e-8
        let opt =
            { d with
                Kind = kind
                Lr = num f "lr" defaultLr span
                Momentum = num f "momentum" 0.0 span
                Nesterov = (match f |> List.tryFind (fst >> (=) "nesterov") with Some(_, VBool b) -> b | Some(_, v) -> fail "NN0403" span (sprintf "`nesterov` is true or false, not %s" (Value.describe v)) | None -> false)
                Beta1 = num f "beta1" 0.9 span
                Beta2 = num f "beta2" 0.999 span
                Eps = num f "eps" defaultEps span
                WeightDecay = num f "weightDecay" (if kind = "adamW" then 1e-2 else 0.0) span
                Rho = num f "rho" (if kind = "rmsprop" then 0.99 else 0.9) span }
        if opt.Lr <= 0.0 then fail "NN0403" span (sprintf "the learning rate must be positive, got %g" opt.Lr)
        if opt.Nesterov && opt.Momentum <= 0.0 then fail "NN0403" span "`nesterov = true` needs a positive `momentum`"
        opt
    | v -> fail "NN0403" span (sprintf "`optimizer` is one of sgd, adam, adamW, rmsprop, adagrad, but this is %s" (Value.describe v))

let private schedule (v: Value) (span: Span) : Schedule =
    let kind, args =
        match v with
        | VConfig(k, a) -> k, a
        | v -> fail "NN0404" span (sprintf "`schedule` is one of stepDecay, exponential, cosine, warmup, reduceOnPlateau, but this is %s" (Value.describe v))
    let allowed =
        match kind with
        | "stepDecay" -> [ "every"; "factor" ]
        | "exponential" -> [ "rate" ]
        | "cosine" -> [ "warmup"; "min" ]
        | "warmup" -> [ "epochs" ]
        | "reduceOnPlateau" -> [ "factor"; "patience"; "monitor" ]
        | _ -> fail "NN0404" span (sprintf "`schedule` is one of stepDecay, exponential, cosine, warmup, reduceOnPlateau, but this is `%s`" kind)
    let f = settings kind allowed span args
    { Kind = kind
      Every = int (num f "every" 10.0 span)
      Factor = num f "factor" (if kind = "reduceOnPlateau" then 0.1 else 0.5) span
      Rate = num f "rate" 0.95 span
      Warmup = int (num f (if kind = "warmup" then "epochs" else "warmup") (if kind = "warmup" then 1.0 else 0.0) span)
      Min = num f "min" 0.0 span
      Patience = int (num f "patience" 3.0 span)
      Monitor = (match f |> List.tryFind (fst >> (=) "monitor") with Some(_, VSymbol s) -> s | _ -> "validationLoss") }

let private str (v: Value) (span: Span) what =
    match v with
    | VStr s -> s
    | v -> fail "NN0405" span (sprintf "%s should be a file name in quotes, but this is %s" what (Value.describe v))

let private floats (v: Value) (span: Span) =
    match v with
    | VList items -> items |> List.map (numOf span) |> Array.ofList
    | VNum(x, _) -> [| x |]
    | v -> fail "NN0405" span (sprintf "a row should be a list of numbers such as [0; 1], but this is %s" (Value.describe v))

let private column span (v: Value) =
    match v with
    | VStr s -> ByName s
    | VNum _ -> ByIndex(intOf span v)
    | v -> fail "NN0405" span (sprintf "a column is a name in quotes or a 0-based index, but this is %s" (Value.describe v))

let private data (ctx: EvalContext) (baseDir: string) (v: Value) (span: Span) : DataSource =
    let path (p: string) = System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDir, p))
    match v with
    | VConfig("rows", [ VList rows, rs ]) ->
        if rows.IsEmpty then fail "NN0405" rs "`rows` needs at least one row"
        let pairs =
            rows |> List.map (fun r ->
                match r with
                | VTuple [ x; y ] -> floats x rs, floats y rs
                | v -> fail "NN0405" rs (sprintf "each row is a pair `features, target` such as [0; 1], [1], but this is %s" (Value.describe v)))
        let xs, ys = List.unzip pairs
        let widthX, widthY = xs.Head.Length, ys.Head.Length
        pairs |> List.iteri (fun i (x, y) ->
            if x.Length <> widthX || y.Length <> widthY then
                fail "NN0405" rs (sprintf "row %d has %d features and %d target values, but row 1 has %d and %d" (i + 1) x.Length y.Length widthX widthY))
        Rows(Array.ofList xs, Array.ofList ys)
    | VConfig("rows", [ v, s ]) -> fail "NN0405" s (sprintf "`rows` expects a list of rows, but got %s" (Value.describe v))
    // `idx "images"` and `npy "x"` without targets (unsupervised training) arrive here normalized to VConfig
    | VConfig("idx", [ img, s ]) -> Idx(path (str img s "the images file"), None)
    | VConfig("idx", [ img, s; lbl, t ]) -> Idx(path (str img s "the images file"), Some(path (str lbl t "the labels file")))
    | VConfig("npy", [ x, s ]) -> Npy(path (str x s "the features file"), None)
    | VConfig("npy", [ x, s; y, t ]) -> Npy(path (str x s "the features file"), Some(path (str y t "the targets file")))
    | VConfig("csv", (file, s) :: rest) ->
        let f = settings "csv" [ "features"; "label" ] span rest
        let features =
            match f |> List.tryFind (fst >> (=) "features") with
            | Some(_, VList cols) -> cols |> List.map (column span)
            | Some(_, v) -> [ column span v ]
            | None -> []
        let label = f |> List.tryFind (fst >> (=) "label") |> Option.map (snd >> column span)
        Csv(path (str file s "the CSV file"), features, label)
    | VConfig("generate", [ count, cs; fn, fs; opts, os ]) ->
        let n = intOf cs count
        if n <= 0 || n > 10_000_000 then fail "NN0405" cs (sprintf "`generate` needs a count from 1 to 10000000, got %d" n)
        let o = settings "generate" [ "low"; "high"; "noise" ] os [ opts, os ]
        let low, high = num o "low" -1.0 os, num o "high" 1.0 os
        if not (high > low) then fail "NN0405" os (sprintf "`generate` needs low < high, got %g and %g" low high)
        let f x =
            match ctx.Apply ctx fs fn (VNum(x, false), fs) with
            | VNum(y, _) -> y
            | v -> fail "NN0405" fs (sprintf "the function given to `generate` must return a number, but it returned %s" (Value.describe v))
        f low |> ignore // report a bad function now, not in the middle of data generation
        Generate(n, f, low, high, num o "noise" 0.0 os)
    | VConfig(k, _) when List.contains k [ "idx"; "csv"; "npy"; "generate"; "rows" ] ->
        fail "NN0405" span (sprintf "`%s` is missing arguments: it expects %s" k (Builtins.Config.all |> List.find (fun b -> b.Name = k)).Doc)
    | v -> fail "NN0405" span (sprintf "`data` is one of rows, idx, csv, npy, generate, but this is %s" (Value.describe v))

/// A settings built-in applied to fewer arguments than it takes (`idx "images.gz"`, bare `adam`) reads as
/// the setting with the arguments given, so optional trailing arguments take their defaults.
let rec private normalize (v: Value) =
    match v with
    | VBuiltin(b, args) when Builtins.Config.all |> List.exists (fun c -> c.Name = b.Name) -> VConfig(b.Name, args)
    | VList items -> VList(items |> List.map normalize)
    | v -> v

/// Read a `train` block's record (already evaluated field by field) into typed settings.
/// `fields` are (name, name span, value, value span, the expression); the target stays an expression.
let read (ctx: EvalContext) (baseDir: string) (td: TrainDecl) (eval: Expr -> Value) : TrainConfig =
    let seen = System.Collections.Generic.HashSet<string>()
    for f in td.Fields do
        if not (List.contains f.Name fieldNames) then
            let hint = match suggest f.Name fieldNames with Some h -> sprintf "; did you mean `%s`?" h | None -> ""
            fail "NN0401" f.NameSpan (sprintf "`train` has no field `%s`%s" f.Name hint)
        if not (seen.Add f.Name) then fail "NN0308" f.NameSpan (sprintf "the field `%s` is given twice" f.Name)
    let field name = td.Fields |> List.tryFind (fun f -> f.Name = name)
    let value name = field name |> Option.map (fun f -> normalize (eval f.Value), f.Value.Span)
    let dataField = match field "data" with Some f -> f | None -> fail "NN0406" td.Span (sprintf "`train %s` needs a `data` field saying where the examples come from" td.Network)
    let number name dflt check (msg: string) =
        match value name with
        | Some(v, s) ->
            let x = numOf s v
            if not (check x) then fail "NN0407" s (sprintf "`%s` %s, got %g" name msg x)
            x
        | None -> dflt
    let lossName, delta =
        match value "loss" with
        | Some(VSymbol s, _) when List.contains s losses -> s, 1.0
        | Some(VConfig("huber", [ d, ds ]), _) -> "huber", numOf ds d
        | Some(VConfig("huber", []), _) -> "huber", 1.0
        | Some(v, s) -> fail "NN0408" s (sprintf "`loss` is one of %s, but this is %s" (String.concat ", " losses) (Value.describe v))
        | None -> fail "NN0408" td.Span (sprintf "`train %s` needs a `loss` field (one of %s)" td.Network (String.concat ", " losses))
    let metrics =
        match value "metrics" with
        | Some(VList ms, s) -> ms |> List.map (function VSymbol("accuracy" as m) -> m | v -> fail "NN0409" s (sprintf "the known metric is `accuracy`, but this is %s" (Value.describe v)))
        | Some(v, s) -> fail "NN0409" s (sprintf "`metrics` is a list such as [accuracy], but this is %s" (Value.describe v))
        | None -> []
    let mutable l1, l2 = 0.0, 0.0
    match value "regularize" with
    | Some(v, s) ->
        let items = match v with VList xs -> xs | v -> [ v ]
        for item in items do
            match item with
            | VConfig("l1", [ c, cs ]) -> l1 <- numOf cs c
            | VConfig("l2", [ c, cs ]) -> l2 <- numOf cs c
            | v -> fail "NN0410" s (sprintf "`regularize` is `l1 c`, `l2 c` or a list of them, but this is %s" (Value.describe v))
    | None -> ()
    let clipNorm, clipValue =
        match value "clip" with
        | Some(VConfig("norm", [ c, cs ]), _) -> Some(numOf cs c), None
        | Some(VConfig("value", [ c, cs ]), _) -> None, Some(numOf cs c)
        | Some(v, s) -> fail "NN0411" s (sprintf "`clip` is `norm c` or `value c`, but this is %s" (Value.describe v))
        | None -> None, None
    let stop =
        match value "stop" with
        | Some(VConfig("earlyStopping", args), s) ->
            let f = settings "earlyStopping" [ "monitor"; "patience" ] s args
            let monitor =
                match f |> List.tryFind (fst >> (=) "monitor") with
                | Some(_, VSymbol m) when List.contains m monitors -> m
                | Some(_, v) -> fail "NN0412" s (sprintf "`monitor` is one of %s, but this is %s" (String.concat ", " monitors) (Value.describe v))
                | None -> "validationLoss"
            Some { Monitor = monitor; Patience = int (num f "patience" 3.0 s) }
        | Some(v, s) -> fail "NN0412" s (sprintf "`stop` is `earlyStopping { monitor; patience }`, but this is %s" (Value.describe v))
        | None -> None
    { Network = td.Network
      Span = td.Span
      Data = data ctx baseDir (normalize (eval dataField.Value)) dataField.Value.Span
      DataSpan = dataField.Value.Span
      Target = field "target" |> Option.map (fun f -> f.Value)
      Validation = number "validation" 0.0 (fun x -> x >= 0.0 && x < 1.0) "must be a fraction in [0, 1)"
      Shuffle = (match value "shuffle" with Some(VBool b, _) -> b | Some(v, s) -> fail "NN0407" s (sprintf "`shuffle` is true or false, not %s" (Value.describe v)) | None -> true)
      ShuffleRows = (match value "shuffle" with Some(VBool true, _) -> true | _ -> false)
      Loss = lossName
      HuberDelta = delta
      Metrics = metrics
      Optimizer = (match value "optimizer" with Some(v, s) -> optimizer v s | None -> defaultOptimizer)
      Schedule = value "schedule" |> Option.map (fun (v, s) -> schedule v s)
      L1 = l1
      L2 = l2
      ClipNorm = clipNorm
      ClipValue = clipValue
      Batch = int (number "batch" 32.0 (fun x -> x >= 1.0 && x = floor x) "must be a positive whole number")
      Epochs = int (number "epochs" 10.0 (fun x -> x >= 0.0 && x = floor x) "must be a whole number")
      Stop = stop
      Checkpoint =
        (match value "checkpoint" with
         | Some(VStr p, _) -> Some(System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDir, p)))
         | Some(v, s) -> fail "NN0407" s (sprintf "`checkpoint` is a folder name in quotes, not %s" (Value.describe v))
         | None -> None)
      Seed = int (number "seed" 0.0 (fun x -> x >= 0.0 && x = floor x) "must be a whole number ≥ 0")
      FieldSpans = td.Fields |> List.map (fun f -> f.Name, f.Value.Span) |> Map.ofList }
