/// Rows read in the form of a train block's data but from other files: `validation = csv "val.csv" { .. }` and
/// `nn eval --data`. They are checked against the training rows (NN058x) and their class labels numbered as the
/// training data numbers them, so that class 2 is the same class in both.
module internal Nn.Compiler.ValidationData

open System.Globalization
open Nn.Dsl
open Nn.Runtime.Data
open Nn.Compiler.Context
open Nn.Compiler.TrainConfig

let private shape (dims: int[]) = "[" + (dims |> Array.map string |> String.concat ", ") + "]"
let private rowShape (t: HostTensor) = shape t.Shape[1..]

/// Class names that are text labels (`setosa`), not the numbers "0".."k-1" of numeric labels (whose class number
/// is the label itself, in every file).
let private textClasses (names: string[]) =
    not (isNull names) && not (names |> Array.mapi (fun i n -> n = string i) |> Array.forall id)

/// The text of a row's label as its file wrote it.
let private labelText (d: Dataset) (v: float32) =
    if not (isNull d.ClassNames) && v >= 0.0f && int v < d.ClassNames.Length && v = floor v then
        d.ClassNames[int v]
    else v.ToString(CultureInfo.InvariantCulture)

/// `other` (the rows of `what`, errors at `span`, row i named by `origin i`) checked against the training rows
/// `train`: rows of the same shape (NN0580), at least one (NN0583), targets when training has them, of the same
/// shape (NN0582), and text labels among the training data's classes (NN0581), renumbered as training numbers them.
let align (what: string) (span: Span) (origin: Targets.Origin) (train: Dataset) (other: Dataset) : Dataset =
    if other.Count = 0 then fail "NN0583" span (sprintf "%s has no rows" what)
    for t, o in Seq.zip train.Inputs other.Inputs do
        if t.Shape[1..] <> o.Shape[1..] then
            fail "NN0580" span
                (sprintf "%s has rows of shape %s, but the training rows have %s: both are read the same way"
                    what (rowShape o) (rowShape t))
    match train.Targets, other.Targets with
    | null, _ -> Dataset(other.Inputs, null)
    | _, null -> fail "NN0582" span (sprintf "%s has no targets, but the training data has them" what)
    | t, o when t.Shape[1..] <> o.Shape[1..] ->
        fail "NN0582" span
            (sprintf "%s has targets of shape %s per row, but the training targets have %s"
                what (rowShape o) (rowShape t))
    | _, o when textClasses train.ClassNames ->
        let classes = train.ClassNames |> Array.mapi (fun i n -> n, i) |> dict
        let renumbered =
            o.Data |> Array.mapi (fun i v ->
                let label = labelText other v
                match classes.TryGetValue label with
                | true, c -> float32 c
                | false, _ ->
                    let at, where = origin i
                    let known = train.ClassNames |> Array.map (sprintf "`%s`") |> String.concat ", "
                    fail "NN0581" at
                        (sprintf "%s: the label `%s` is not a class of the training data (its classes are %s)"
                            where label known))
        Dataset(other.Inputs, HostTensor(o.Shape, renumbered), train.ClassNames)
    | _ -> other

/// The files of `data` replaced by `paths` (relative to the working folder), as `nn eval --data` reads them: one CSV
/// file (the columns of `data`), IDX images and labels, NPY features and targets (NN0453 for another count, or for
/// `rows` and `generate`, which read no file).
let withPaths (cfg: TrainConfig) (paths: string list) : DataSource =
    let full (p: string) = System.IO.Path.GetFullPath p
    let wanted =
        match cfg.Data with
        | Csv _ -> "one CSV file: `--data file.csv`"
        | Idx(_, Some _) -> "the images and the labels: `--data images --data labels`"
        | Idx(_, None) -> "the images: `--data images`"
        | Npy([ _ ], Some _) -> "the features and the targets: `--data x.npy --data y.npy`"
        | Npy([ _ ], None) -> "the features: `--data x.npy`"
        | Npy(fs, y) ->
            sprintf "the features of each of the %d inputs%s: `--data a.npy --data b.npy ..`" fs.Length
                (if y.IsSome then ", then the targets" else "")
        | Rows _ | Generate _ -> ""
    match cfg.Data, paths with
    | Csv(_, features, label, table), [ p ] -> Csv(full p, features, label, table)
    | Idx(_, Some _), [ images; labels ] -> Idx(full images, Some(full labels))
    | Idx(_, None), [ images ] -> Idx(full images, None)
    | Npy(fs, y), paths when paths.Length = fs.Length + (if y.IsSome then 1 else 0) ->
        let xs = List.take fs.Length paths
        Npy(List.map2 (fun p (_, at) -> full p, at) xs fs, (if y.IsSome then Some(full (List.last paths)) else None))
    | (Rows _ | Generate _), _ ->
        fail "NN0453" cfg.DataSpan
            "`--data` gives files in the form of `data`, but this `data` reads no file (write it as csv, idx or npy)"
    | _, paths ->
        fail "NN0453" cfg.DataSpan
            (sprintf "`--data` gives %d file%s, but `data` reads %s" paths.Length
                (if paths.Length = 1 then "" else "s") wanted)
