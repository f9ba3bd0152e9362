/// Console output: plain lines when not a terminal or when NO_COLOR is set; diagnostics to standard error.
module internal Nn.Cli.Output

open System
open Nn.Dsl

/// Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
let useColor =
    lazy (String.IsNullOrEmpty(Environment.GetEnvironmentVariable "NO_COLOR") && not Console.IsOutputRedirected)

let private paint (code: string) (s: string) = if useColor.Value then sprintf "\u001b[%sm%s\u001b[0m" code s else s
let bold = paint "1"
let dim = paint "2"

/// Print diagnostics with their source lines to standard error.
let diagnostics (sources: string -> string option) (ds: Diagnostic list) =
    for d in ds do
        eprintfn "%s" (Diagnostic.render sources d)
        eprintfn ""

/// `2 errors`, `1 error, 1 warning`: the footer of a report.
let count (ds: Diagnostic list) =
    let plural n word = sprintf "%d %s%s" n word (if n = 1 then "" else "s")
    let errors = ds |> List.filter (fun d -> d.Severity = Severity.Error) |> List.length
    let warnings = ds |> List.filter (fun d -> d.Severity = Severity.Warning) |> List.length
    [ (if errors > 0 || warnings = 0 then Some(plural errors "error") else None)
      (if warnings > 0 then Some(plural warnings "warning") else None) ]
    |> List.choose id |> String.concat ", "

/// Print diagnostics and then, always, the footer that counts them (`1 error`; `FILE: 2 errors` when `label` names
/// the file, as `nn check` does for each of several files). Every command reports through this.
let report (label: string option) (sources: string -> string option) (ds: Diagnostic list) =
    diagnostics sources ds
    match label with
    | Some l -> eprintfn "%s: %s" l (count ds)
    | None -> eprintfn "%s" (count ds)

/// A source lookup from a map of texts, falling back to the disk for files not in the map.
let sourcesFrom (known: Map<string, string>) (file: string) =
    match known.TryFind file with
    | Some t -> Some t
    | None ->
        try if IO.File.Exists file then Some(IO.File.ReadAllText file) else None
        with _ -> None
