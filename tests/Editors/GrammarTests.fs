/// The VS Code TextMate grammar (editors/vscode/syntaxes/nn.tmLanguage.json): every regex compiles with .NET, every
/// built-in of the compiler is highlighted, and the example programs get the intended scopes, checked with a small
/// interpreter of the grammar's `match`, `begin`/`end`, `captures` and `include` rules.
module Nn.Tests.Editors.GrammarTests

open System
open System.IO
open System.Text.Json
open System.Text.RegularExpressions
open Expecto
open Nn.Tests.TestUtil

// ---- a small TextMate interpreter ----

type Rule =
    | Match of regex: Regex * name: string * captures: Map<int, string>
    | Region of
        start: Regex *
        finish: Regex *
        name: string *
        beginCaptures: Map<int, string> *
        endCaptures: Map<int, string> *
        patterns: Lazy<Rule list>

let grammarPath = Path.Combine(repoRoot, "editors", "vscode", "syntaxes", "nn.tmLanguage.json")

let private grammar = lazy (JsonDocument.Parse(File.ReadAllText grammarPath).RootElement.Clone())

let private str (e: JsonElement) (name: string) =
    match e.TryGetProperty name with
    | true, v -> v.GetString()
    | _ -> null

let private captures (e: JsonElement) (name: string) =
    match e.TryGetProperty name with
    | true, v -> v.EnumerateObject() |> Seq.map (fun p -> int p.Name, str p.Value "name") |> Map.ofSeq
    | _ -> Map.empty

/// `captures` apply to begin and end; `beginCaptures`/`endCaptures` override them.
let private merge (a: Map<int, string>) (b: Map<int, string>) =
    Map.fold (fun (m: Map<int, string>) k v -> m.Add(k, v)) a b

let private compile (source: string) = Regex(source, RegexOptions.CultureInvariant)

/// The rules of a `patterns` array, with `include`s of the repository resolved (lazily: rules may include themselves).
let rec private rules (patterns: JsonElement) : Rule list =
    [ for p in patterns.EnumerateArray() do
        match str p "include" with
        | null -> yield! rule p
        | inc when inc.StartsWith "#" ->
            yield! rule (grammar.Value.GetProperty("repository").GetProperty(inc.Substring 1))
        | "$self" -> yield! rules (grammar.Value.GetProperty "patterns")
        | inc -> failwithf "unsupported include %s" inc ]

and private rule (p: JsonElement) : Rule list =
    match str p "match", str p "begin" with
    | null, null -> rules (p.GetProperty "patterns")
    | m, null -> [ Match(compile m, str p "name", captures p "captures") ]
    | null, b ->
        let both = captures p "captures"
        let inner = match p.TryGetProperty "patterns" with | true, ps -> lazy (rules ps) | _ -> lazy []
        [ Region(compile b, compile (str p "end"), str p "name", merge both (captures p "beginCaptures"),
                 merge both (captures p "endCaptures"), inner) ]
    | _ -> failwith "a rule with both match and begin"

/// Every regex source in the grammar (match, begin, end), with its JSON path.
let allRegexes () =
    let rec walk (path: string) (e: JsonElement) =
        seq {
            match e.ValueKind with
            | JsonValueKind.Object ->
                for p in e.EnumerateObject() do
                    if (p.Name = "match" || p.Name = "begin" || p.Name = "end")
                       && p.Value.ValueKind = JsonValueKind.String then
                        yield path + "." + p.Name, p.Value.GetString()
                    else yield! walk (path + "." + p.Name) p.Value
            | JsonValueKind.Array ->
                for i, x in Seq.indexed (e.EnumerateArray()) do yield! walk (sprintf "%s[%d]" path i) x
            | _ -> ()
        }
    walk "" grammar.Value |> List.ofSeq

/// The regions open at the end of a line, innermost first (block comments continue on the next line).
type Frame = { Finish: Regex; Name: string; EndCaptures: Map<int, string>; Patterns: Lazy<Rule list> }

let private root = lazy (rules (grammar.Value.GetProperty "patterns"))

/// The scopes of every character of a line (outermost first), and the open regions after it.
let tokenizeLine (stack: Frame list) (line: string) : string list[] * Frame list =
    let scopes = Array.create line.Length []
    let names (stack: Frame list) = stack |> List.rev |> List.choose (fun f -> Option.ofObj f.Name)
    let paint (a: int) (b: int) (outer: string list) (name: string) =
        for i in a .. b - 1 do scopes[i] <- outer @ (if isNull name then [] else [ name ])
    let paintCaptures (m: Match) (caps: Map<int, string>) =
        for KeyValue(g, name) in caps do
            let grp = m.Groups[g]
            if grp.Success && not (isNull name) then
                for i in grp.Index .. grp.Index + grp.Length - 1 do scopes[i] <- scopes[i] @ [ name ]
    let rec go (pos: int) (stack: Frame list) =
        let inner = match stack with f :: _ -> f.Patterns.Value | [] -> root.Value
        // candidates in priority order: the open region's end first, then its patterns; the earliest match wins
        let candidates =
            [ match stack with
              | f :: _ -> yield f.Finish.Match(line, pos), None
              | [] -> ()
              for r in inner do
                  match r with
                  | Match(re, _, _) -> yield re.Match(line, pos), Some r
                  | Region(b, _, _, _, _, _) -> yield b.Match(line, pos), Some r ]
            |> List.filter (fun (m, _) -> m.Success && m.Length > 0)
        if candidates.IsEmpty then
            paint pos line.Length (names stack) null
            stack
        else
            let m, what = candidates |> List.minBy (fun (m, _) -> m.Index)
            let stop = m.Index + m.Length
            paint pos m.Index (names stack) null
            match what with
            | None ->
                paint m.Index stop (names stack) null
                paintCaptures m stack.Head.EndCaptures
                go stop stack.Tail
            | Some(Match(_, name, caps)) ->
                paint m.Index stop (names stack) name
                paintCaptures m caps
                go stop stack
            | Some(Region(_, finish, name, beginCaps, endCaps, ps)) ->
                paint m.Index stop (names stack) name
                paintCaptures m beginCaps
                go stop ({ Finish = finish; Name = name; EndCaptures = endCaps; Patterns = ps } :: stack)
    let after = go 0 stack
    scopes, after

/// The scopes of every character of every line.
let tokenize (lines: string[]) : string list[][] =
    let mutable stack = []
    [| for line in lines do
         let scopes, next = tokenizeLine stack line
         stack <- next
         yield scopes |]

/// True when the character has a scope starting with `prefix`.
let has (scopes: string list) (prefix: string) =
    scopes |> List.exists (fun s -> s.StartsWith(prefix, StringComparison.Ordinal))

// ---- what the examples should look like: an oracle written without the grammar ----

let private keywords = set [ "let"; "param"; "state"; "network"; "train"; "open"; "fun"; "if"; "then"; "else"; "not" ]
let private declarers =
    Map [ "let", "entity.name.function"; "network", "entity.name.type"; "train", "entity.name.type"
          "param", "variable.other.parameter"; "state", "variable.other.parameter" ]

/// Names the prelude defines (`let NAME` at the start of a line of prelude.nn).
let preludeNames =
    Regex.Matches(Nn.Compiler.Prelude.source, @"(?m)^let\s+([A-Za-z_][\w']*)")
    |> Seq.map (fun m -> m.Groups[1].Value)
    |> List.ofSeq

/// The compiler's built-ins, the prelude's functions, and `input` (bound only inside a `train` block's `target`).
let builtinNames = Nn.Compiler.Builtins.Table.allNames @ preludeNames @ [ "input" ] |> List.distinct

/// Every expectation for one line: (column, length, scope prefix, what), and words that must not be highlighted.
let expectations (line: string) =
    // where the code ends: a `//` outside a string
    let mutable inString = false
    let mutable comment = line.Length
    let strings = ResizeArray<int * int>()
    let mutable i = 0
    while i < comment do
        if line[i] = '"' then
            if inString then strings[strings.Count - 1] <- (fst strings[strings.Count - 1], i + 1)
            else strings.Add((i, line.Length))
            inString <- not inString
        elif not inString && i + 1 < line.Length && line[i] = '/' && line[i + 1] = '/' then comment <- i
        i <- i + 1
    let inStr k = strings |> Seq.exists (fun (a, b) -> k >= a && k < b)
    let code = line.Substring(0, comment)
    let shapes = Regex.Matches(code, @":\s*\[[^\]]*\]") |> Seq.map (fun m -> m.Index, m.Index + m.Length) |> List.ofSeq
    let inShape k = shapes |> List.exists (fun (a, b) -> k > a && k < b)
    [ if comment < line.Length then
        let kind =
            if line.Substring(comment).StartsWith "///" then "comment.line.documentation"
            else "comment.line.double-slash"
        yield comment, line.Length - comment, kind, "comment"
      for (a, b) in strings do yield a, b - a, "string.quoted.double", "string"
      let words = Regex.Matches(code, @"(?<![\w.'])[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*") |> List.ofSeq
      for wi, m in List.indexed words do
        if not (inStr m.Index) then
          let prev =
              if wi > 0 then
                  let before = words[wi - 1]
                  let gap = code.Substring(before.Index + before.Length, m.Index - before.Index - before.Length)
                  if gap.Trim() = "" then before.Value else ""
              else ""
          let w = m.Value
          if declarers.ContainsKey prev then yield m.Index, m.Length, declarers[prev], "a declared name"
          elif inShape m.Index then yield m.Index, m.Length, "variable.other.dimension", "a dimension"
          elif keywords.Contains w then yield m.Index, m.Length, "keyword.", "a keyword"
          elif w = "true" || w = "false" then yield m.Index, m.Length, "constant.language", "a boolean"
          elif List.contains w builtinNames then yield m.Index, m.Length, "support.", "a built-in"
          else yield m.Index, m.Length, "", "a plain name"
      for m in Regex.Matches(code, @"(?<![\w.'])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?") do
        if not (inStr m.Index) then yield m.Index, m.Length, "constant.numeric", "a number"
      for m in Regex.Matches(code, @"\|>|>>|->|\*\*|@") do
        if not (inStr m.Index) then yield m.Index, m.Length, "keyword.operator", "an operator" ]

/// The problems of one file: tokens whose scope is not the intended one.
let problems (file: string) =
    let lines = File.ReadAllLines file
    let scopes = tokenize lines
    [ for n, line in Array.indexed lines do
        for (col, len, prefix, what) in expectations line do
            let token = line.Substring(col, len)
            let first, last = scopes[n][col], scopes[n][col + len - 1]
            let ok =
                if prefix = "" then not (has first "support." || has first "keyword." || has first "entity.")
                else has first prefix && has last prefix
            if not ok then
                let wanted = if prefix = "" then "unhighlighted" else prefix + "*"
                yield sprintf "%s(%d,%d): %s `%s` should be %s but has [%s]" (Path.GetFileName file) (n + 1) (col + 1)
                          what token wanted (String.Join(", ", first)) ]

/// The scopes at the start of `word`'s first occurrence in a one-line program.
let scopesOf (line: string) (word: string) =
    let col = line.IndexOf(word, StringComparison.Ordinal)
    let scopes = tokenize [| line |]
    scopes[0][col], scopes[0][col + word.Length - 1]

[<Tests>]
let tests =
    testList "Editors.Grammar" [
        test "every regex compiles with .NET" {
            let bad =
                allRegexes ()
                |> List.choose (fun (path, re) ->
                    try Regex(re) |> ignore; None with e -> Some(sprintf "%s: %s" path e.Message))
            Expect.isEmpty bad "regexes .NET cannot compile"
            Expect.isGreaterThan (allRegexes ()).Length 20 "the grammar has its rules"
        }

        test "every built-in of the compiler and the prelude is highlighted" {
            let missing =
                builtinNames |> List.filter (fun name ->
                    let first, last = scopesOf (sprintf "    x |> %s y" name) name
                    not (has first "support." && has last "support."))
            Expect.equal missing [] "names to add to the grammar's builtins"
            Expect.isGreaterThan builtinNames.Length 60 "the table is not empty"
        }

        test "a name that only starts like a built-in is not highlighted" {
            for word in [ "expected"; "dense2"; "relu'"; "x.exp"; "List.folder" ] do
                let first, _ = scopesOf (sprintf "let y = %s" word) word
                Expect.isFalse (has first "support.") (sprintf "`%s` is not a built-in" word)
        }

        test "comments: line, doc and nested block comments over several lines" {
            let lines = [| "let a = 1 // one"; "/// doc"; "(* outer (* inner *)"; "   still comment *) let b = 2" |]
            let s = tokenize lines
            Expect.isTrue (has (s[0][10]) "comment.line.double-slash") "line comment"
            Expect.isTrue (has (s[0][8]) "constant.numeric") "code before it"
            Expect.isTrue (has (s[1][0]) "comment.line.documentation") "doc comment"
            Expect.isTrue (has (s[3][3]) "comment.block") "the nested block continues on the next line"
            Expect.isTrue (has (s[3][21]) "keyword.declaration") "code after the block"
        }

        test "strings, numbers, booleans and shape annotations" {
            let line = "let f (x: [n, 784]) = if true then csv \"a\\\"b.csv\" else 1e-3"
            let s = (tokenize [| line |])[0]
            let at (w: string) = line.IndexOf(w, StringComparison.Ordinal)
            Expect.isTrue (has (s[at "n,"]) "variable.other.dimension") "dimension variable"
            Expect.isTrue (has (s[at "784"]) "meta.shape.nn" && has (s[at "784"]) "constant.numeric")
                "fixed size in a shape"
            Expect.isTrue (has (s[at "true"]) "constant.language.boolean") "boolean"
            Expect.isTrue (has (s[at "b.csv"]) "string.quoted.double") "string after an escaped quote"
            Expect.isTrue (has (s[at "1e-3" + 3]) "constant.numeric.float") "exponent"
            Expect.isTrue (has (s[at "if"]) "keyword.control") "if"
        }

        test "state declarations: the keyword and the declared name" {
            let line = "    state mean = mean 0 x"
            let s = (tokenize [| line |])[0]
            Expect.isTrue (has (s[4]) "keyword.declaration") "state"
            Expect.isTrue (has (s[10]) "variable.other.parameter") "the state's name"
            Expect.isTrue (has (s[17]) "support.function") "the reduction on the right"
        }

        testList "examples get the intended scopes" [
            for file in Directory.GetFiles(Path.Combine(repoRoot, "examples"), "*.nn") ->
                test (Path.GetFileName file) { Expect.equal (problems file) [] "tokens with the wrong scope" }
        ]
    ]
