/// `--set NAME=VALUE` on a top-level `let` of the program (`nn train m.nn --set hidden=128`): the let's value is
/// replaced before the program is evaluated, so a sweep is a shell loop. A name that is a `train` field is the
/// field's (the field wins over a `let` of the same name); any other name must be a top-level `let` of the file
/// (NN0401 lists both), whose value is of the same kind as the new one (NN0436).
module internal Nn.Compiler.LetSets

open Nn.Dsl
open Nn.Compiler.Context

/// One parsed `--set NAME=VALUE`: the name and where it is written, the value, the value's own text, and whether it
/// comes from the run whose weights are read (a program without that let ignores it) rather than the command line.
type Set =
    { Name: string
      NameSpan: Span
      Value: Expr
      Text: string
      FromRun: bool }

/// The top-level lets of the file `path` (not those of files it opens).
let private topLets (path: string) (decls: Decl list) =
    decls |> List.choose (function LetDecl lb when lb.Span.File = path -> Some lb | _ -> None)

/// The sets that change a `let` (the last one of a name wins), and NN0401 for a name that is neither a train field
/// nor a top-level `let` of the file.
let select (path: string) (decls: Decl list) (sets: Set list) : Result<Map<string, Set>, Diagnostic list> =
    let lets = topLets path decls |> List.map (fun lb -> lb.Name)
    let known (s: Set) = List.contains s.Name TrainConfig.fieldNames || List.contains s.Name lets
    let sets = sets |> List.filter (fun s -> known s || not s.FromRun)
    let unknown = sets |> List.filter (known >> not)
    if unknown.IsEmpty then
        sets
        |> List.filter (fun s -> not (List.contains s.Name TrainConfig.fieldNames))
        |> List.fold (fun (m: Map<string, Set>) s -> m.Add(s.Name, s)) Map.empty
        |> Ok
    else
        // the lets `--set` can change: values, not functions of arguments
        let values = topLets path decls |> List.filter (fun lb -> lb.Params.IsEmpty) |> List.map (fun lb -> lb.Name)
        let names = TrainConfig.fieldNames @ values
        let list (xs: string list) = if xs.IsEmpty then "none" else String.concat ", " xs
        unknown
        |> List.map (fun s ->
            let hint = match suggest s.Name names with Some h -> sprintf "; did you mean `%s`?" h | None -> ""
            Diagnostic.error "NN0401" s.NameSpan
                (sprintf "`--set %s`: the program has no train field or top-level `let` named `%s`%s "
                    s.Name s.Name hint
                 + sprintf "(train fields: %s; top-level lets: %s)" (list TrainConfig.fieldNames) (list values)))
        |> Error

/// The declarations with the selected lets' values replaced (the originals are kept for `checkKind`).
let apply (path: string) (decls: Decl list) (chosen: Map<string, Set>) : Decl list * Map<string, LetBinding> =
    let mutable originals = Map.empty
    let decls =
        decls |> List.map (fun d ->
            match d with
            | LetDecl lb when lb.Span.File = path && chosen.ContainsKey lb.Name ->
                originals <- originals.Add(lb.Name, lb)
                LetDecl { lb with Body = chosen[lb.Name].Value }
            | d -> d)
    decls, originals

/// What kind of value a `let` holds, in the words of the diagnostics (an integer and a number are one kind).
let private kind (v: Value) =
    match v with
    | VNum _ -> "a number"
    | VClosure _ | VBuiltin _ | VCompose _ -> "a function"
    | v -> Value.describe v

/// NN0436 when the new value of `original` (a let changed by `--set`) is of another kind than the program's, or the
/// let takes arguments; `eval` evaluates an expression where the let stands.
let checkKind (eval: Expr -> Value) (original: LetBinding) (value: Expr) =
    let declared = { Span = Some original.NameSpan; Message = sprintf "`%s` is declared here" original.Name }
    let refuse message =
        raise (DiagnosticException { Diagnostic.error "NN0436" value.Span message with Notes = [ declared ] })
    if not original.Params.IsEmpty then
        refuse (
            sprintf "`%s` is a function of its arguments; `--set` replaces values (numbers, lists, strings, booleans)"
                original.Name)
    let before = try Some(eval original.Body) with DiagnosticException _ -> None
    match before with
    | Some b ->
        let now = eval value
        if kind b <> kind now then
            refuse (sprintf "`%s` is %s in the program, but `--set` gives %s" original.Name (kind b) (kind now))
    | None -> ()

/// The source text with the values of the changed lets written in (what the run folder keeps as the model's copy),
/// each under a comment with the value the file had; unchanged when no let was changed.
let rewrite (source: string) (originals: Map<string, LetBinding>) (chosen: Map<string, Set>) : string =
    if originals.IsEmpty then source
    else
        let lines = source.Split('\n')
        let starts = lines |> Array.scan (fun at (l: string) -> at + l.Length + 1) 0
        let offset (line: int) (column: int) = starts[line - 1] + column - 1
        // from the last let to the first, so earlier offsets stay valid
        originals
        |> Map.toList
        |> List.sortByDescending (fun (_, lb) -> lb.Span.Line, lb.Span.Column)
        |> List.fold (fun (text: string) (name, lb) ->
            let b = lb.Body.Span
            let startAt, endAt = offset b.Line b.Column, offset b.EndLine b.EndColumn
            let was = text.Substring(startAt, endAt - startAt)
            let set = chosen[name]
            let note = sprintf "// --set %s=%s (the program says: %s)\n" name set.Text (was.Replace('\n', ' '))
            let letAt = offset lb.Span.Line 1
            let text = text.Substring(0, startAt) + set.Text.Trim() + text.Substring(endAt)
            text.Insert(letAt, note)) source
