/// The transfer-learning fields of a `train` block: `init = weights "run or file" { rename = [..] }` (where training
/// starts from) and `freeze = ["dense1.*"]` (the parameters kept fixed), read and checked without any data; the
/// weights themselves are loaded by Api/InitWeights.fs.
module internal Nn.Compiler.TransferConfig

open System.Text.RegularExpressions
open Nn.Dsl
open Nn.Compiler.Context

/// `init = weights "path" { rename = [(from, to); ..] }`: a run folder or a safetensors file, and the path prefixes
/// renamed from the file's names to the network's (the first pair whose `from` starts a name applies).
type Init = { Path: string; Rename: (string * string) list; Span: Span }

/// One glob of `freeze` (`*` any characters, dots included; `?` one character), where it was written.
type Freeze = { Pattern: string; Span: Span }

/// The fields this module reads.
let fieldNames = [ "init"; "freeze" ]

let private rename (source: Settings.Source) (v: Value) (span: Span) : (string * string) list =
    let bad (at: Span) (what: string) =
        fail "NN0457" at
            (sprintf "`rename` is a list of pairs of path prefixes, from the file's names to the network's, "
             + sprintf "such as [(\"encode.\", \"\")], but %s" what)
    match v with
    | VList items ->
        items |> List.mapi (fun i x ->
            let at = Settings.item source span i
            match x with
            | VTuple [ VStr a; VStr b ] -> a, b
            | VTuple [ a; b ] ->
                bad at (sprintf "this pair holds %s and %s, not two strings" (Value.describe a) (Value.describe b))
            | x -> bad at (sprintf "this item is %s" (Value.describe x)))
    | v -> bad span (sprintf "this is %s" (Value.describe v))

/// `init`: `weights "path"` or `weights "path" { rename = [..] }` (NN0458 for anything else, NN0457 for a bad
/// `rename`); the path is relative to the program's folder.
let readInit (source: Settings.Source) (baseDir: string) (v: Value) (span: Span) : Init =
    let usage = "`init` is `weights \"runs/NET/latest\"` (a run folder or a .safetensors file), optionally with "
                + "{ rename = [(\"from.\", \"to.\")] }"
    match v with
    | VConfig("weights", (VStr p, _) :: rest) ->
        let f = Settings.read source "weights" [ "rename" ] span rest
        let pairs = match Settings.tryFind f "rename" with Some r -> rename source r.Value r.Span | None -> []
        { Path = System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDir, p)); Rename = pairs; Span = span }
    | VConfig("weights", (v, s) :: _) ->
        fail "NN0458" s (sprintf "`weights` takes a run folder or a file name in quotes, but this is %s"
                             (Value.describe v))
    | v -> fail "NN0458" span (sprintf "%s, but this is %s" usage (Value.describe v))

/// A glob may hold the characters of parameter paths (letters, digits, `_`, `.`) and the wildcards `*` and `?`.
let private validGlob = Regex(@"^[A-Za-z0-9_.*?]+$")

/// `freeze`: a list of globs over parameter paths (or one glob); NN0455 for a bad glob or a value of another kind.
let readFreeze (source: Settings.Source) (v: Value) (span: Span) : Freeze list =
    let glob (x: Value) (at: Span) =
        match x with
        | VStr p when validGlob.IsMatch p -> { Pattern = p; Span = at }
        | VStr p ->
            fail "NN0455" at
                (sprintf "`%s` is not a pattern of parameter paths: it may hold letters, digits, `_`, `.` and " p
                 + "the wildcards `*` (any characters) and `?` (one character), such as \"dense1.*\"")
        | x ->
            fail "NN0455" at
                (sprintf "`freeze` is a list of patterns of parameter paths in quotes, such as [\"dense1.*\"], but "
                 + sprintf "this is %s" (Value.describe x))
    match v with
    | VList items -> items |> List.mapi (fun i x -> glob x (Settings.item source span i))
    | x -> [ glob x span ]

/// True when `path` matches the glob `pattern` as a whole (Python's fnmatch: `*` also crosses dots).
let matches (pattern: string) (path: string) =
    let rx = "^" + (Regex.Escape pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$"
    Regex.IsMatch(path, rx)

/// The parameters (of `paths`) the patterns freeze; a pattern that matches none of them is NN0456.
let frozen (paths: string list) (patterns: Freeze list) : Set<string> =
    for f in patterns do
        if not (paths |> List.exists (matches f.Pattern)) then
            let shown = paths |> List.truncate 12 |> List.map (sprintf "`%s`") |> String.concat ", "
            let more = if paths.Length > 12 then sprintf " and %d more" (paths.Length - 12) else ""
            fail "NN0456" f.Span
                (sprintf "the pattern \"%s\" matches no parameter of the network (its parameters are %s%s)"
                    f.Pattern (if paths.IsEmpty then "none" else shown) more)
    paths |> List.filter (fun p -> patterns |> List.exists (fun f -> matches f.Pattern p)) |> set
