/// The folders of src/Runtime form a pipeline: no cycle between folders, and the engine (Engine/, Training/) never uses
/// the reference interpreter (Execution/), which must stay an independent oracle. The dependency graph is computed from
/// the sources: a folder depends on another when its code names a type declared there (a top-level type, visible by
/// its namespace, a `using`, or a qualified name). Comments and string literals are ignored.
module Nn.Tests.Runtime.FolderDependencyTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto

/// One C# file as the scan sees it: its folder ("" for the project root), namespace, `using`s and code (comments and
/// literals blanked).
type private Source = { Folder: string; Namespace: string; Usings: string list; Code: string }

let private blank (text: string) =
    let t = Regex.Replace(text, @"/\*.*?\*/", "", RegexOptions.Singleline)
    let t = Regex.Replace(t, @"//[^\n]*", "")
    let t = Regex.Replace(t, "\\$?@?\"(?:[^\"\\\\\\n]|\\\\.)*\"", "\"\"")
    Regex.Replace(t, @"'(?:[^'\\\n]|\\.)'", "''")

let private source (folder: string) (text: string) =
    let code = blank text
    let ns = Regex.Match(code, @"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)
    if not ns.Success then failwithf "a file in `%s` has no file-scoped namespace (the scan relies on one)" folder
    let usings =
        [ for m in Regex.Matches(code, @"^using\s+(?:static\s+)?(?:\w+\s*=\s*)?([\w.]+)\s*;", RegexOptions.Multiline) ->
            m.Groups[1].Value ]
    { Folder = folder; Namespace = ns.Groups[1].Value; Usings = usings; Code = code }

let private declaration =
    Regex(@"\b(?:class|struct|enum|interface|record(?:\s+struct|\s+class)?|delegate\s+[\w<>?\[\],. ]+?)\s+([A-Z]\w*)")

/// The top-level types of a file (declared at brace depth 0 under its file-scoped namespace).
let private topLevelTypes (s: Source) =
    let mutable depth = 0
    let mutable last = 0
    [ for m in declaration.Matches s.Code do
        for i in last .. m.Index - 1 do
            if s.Code[i] = '{' then depth <- depth + 1
            elif s.Code[i] = '}' then depth <- depth - 1
        last <- m.Index
        if depth = 0 then yield m.Groups[1].Value ]

/// folder -> (folder it uses -> the type names that make the edge), for the given sources.
let private dependencies (sources: Source list) =
    let types =
        sources
        |> List.collect (fun s -> topLevelTypes s |> List.map (fun t -> t, (s.Namespace, s.Folder)))
        |> List.groupBy fst
        |> List.map (fun (t, xs) -> t, List.map snd xs)
        |> Map.ofList
    let namespaces = sources |> List.map (fun s -> s.Namespace) |> Set.ofList
    let edges = Collections.Generic.Dictionary<string * string, Set<string>>()
    let add a b t =
        if a <> b then
            edges[(a, b)] <- (match edges.TryGetValue((a, b)) with | true, ts -> ts | _ -> Set.empty).Add t
    for s in sources do
        let parts = s.Namespace.Split '.'
        let enclosing = [ for i in 1 .. parts.Length -> String.Join(".", parts[.. i - 1]) ]
        let imported =
            s.Usings |> List.choose (fun u ->
                if namespaces.Contains u then Some u
                else
                    let i = u.LastIndexOf '.'
                    if i > 0 && namespaces.Contains(u[.. i - 1]) then Some u[.. i - 1] else None) // using static
        // A chain a.b.C.d: each segment may be a type whose namespace is the chain before it (relative to the file's
        // enclosing namespaces), or, for the first segment, visible through the namespace or a `using`.
        for m in Regex.Matches(s.Code, @"(?<![\w.])[A-Z]\w*(?:\s*\.\s*[A-Z]\w*)*") do
            let chain = Regex.Split(m.Value, @"\s*\.\s*")
            for i in 0 .. chain.Length - 1 do
                for (ns, folder) in types |> Map.tryFind chain[i] |> Option.defaultValue [] do
                    let prefix = String.Join(".", chain[.. i - 1])
                    let visible =
                        if i = 0 then List.contains ns enclosing || List.contains ns imported
                        else ns = prefix || enclosing |> List.exists (fun e -> ns = e + "." + prefix)
                    if visible then add s.Folder folder chain[i]
    edges |> Seq.map (fun kv -> kv.Key, kv.Value) |> List.ofSeq

/// The strongly connected components with more than one folder (Tarjan), each sorted.
let private cycles (edges: (string * string) list) =
    let next = edges |> List.groupBy fst |> List.map (fun (a, xs) -> a, List.map snd xs) |> Map.ofList
    let nodes = edges |> List.collect (fun (a, b) -> [ a; b ]) |> List.distinct
    let index = Collections.Generic.Dictionary<string, int>()
    let low = Collections.Generic.Dictionary<string, int>()
    let stack = Collections.Generic.Stack<string>()
    let found = Collections.Generic.List<string list>()
    let rec visit v =
        index[v] <- index.Count
        low[v] <- index[v]
        stack.Push v
        for w in next |> Map.tryFind v |> Option.defaultValue [] do
            if not (index.ContainsKey w) then
                visit w
                low[v] <- min low[v] low[w]
            elif stack.Contains w then low[v] <- min low[v] index[w]
        if low[v] = index[v] then
            let comp = Collections.Generic.List<string>()
            let mutable go = true
            while go do
                let w = stack.Pop()
                comp.Add w
                go <- w <> v
            if comp.Count > 1 then found.Add(List.sort (List.ofSeq comp))
    for v in nodes do
        if not (index.ContainsKey v) then visit v
    List.ofSeq found

let private runtimeSources () =
    let root = Path.Combine(Nn.Tests.TestUtil.repoRoot, "src", "Runtime")
    [ for f in Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories) do
        let rel = Path.GetRelativePath(root, Path.GetDirectoryName f).Replace('\\', '/')
        if not (rel.StartsWith "obj" || rel.StartsWith "bin") then
            yield source (if rel = "." then "" else rel) (File.ReadAllText f) ]

let private describe (deps: ((string * string) * Set<string>) list) (a, b) =
    let types = deps |> List.tryFind (fun (e, _) -> e = (a, b)) |> Option.map snd |> Option.defaultValue Set.empty
    sprintf "%s -> %s (%s)" a b (String.Join(", ", Seq.truncate 6 types))

let private inside (folder: string) (top: string) = folder = top || folder.StartsWith(top + "/")

[<Tests>]
let tests =
    testList "Runtime.Folders" [
        test "the scan finds a type named by its namespace, a using or a qualified name, and skips comments" {
            let files =
                [ source "A" "namespace N.A;\npublic sealed class Tensor { }\npublic static class Stream { }"
                  source "B" ("using N.A;\nnamespace N.B;\n// Stream\n"
                              + "internal class K { Tensor t; string s = \"Stream\"; }")
                  source "C" "namespace N.C;\ninternal class M { void F() => A.Stream.ToString(); }"
                  source "D" "namespace N.D;\ninternal class P { int Tensor; }" ]
            let deps = dependencies files
            Expect.equal (deps |> List.map fst |> List.sort) [ ("B", "A"); ("C", "A") ] "B by its using, C qualified"
            Expect.equal (deps |> List.find (fun (e, _) -> e = ("B", "A")) |> snd) (set [ "Tensor" ]) "not the comment"
        }
        test "the cycle finder reports each cycle once with all its folders" {
            Expect.equal (cycles [ ("a", "b"); ("b", "c"); ("c", "a"); ("c", "d"); ("d", "e") ]) [ [ "a"; "b"; "c" ] ]
                "one cycle of three"
            Expect.isEmpty (cycles [ ("a", "b"); ("a", "c"); ("b", "c") ]) "a diamond is no cycle"
        }
        test "no cycle between the folders of src/Runtime" {
            let deps = dependencies (runtimeSources ())
            // A subfolder is part of its parent (IR/Primitives holds the IR's op definitions, which build graphs of the
            // IR): edges between a folder and its own subfolder are no cycle. Sibling and unrelated folders are
            // checked.
            let edges = List.map fst deps |> List.filter (fun (a, b) -> not (inside a b || inside b a))
            // The scan sees the real graph: the step executors' factory knows both engines, everything uses the IR.
            for e in [ ("Executors", "Engine"); ("Executors", "Execution"); ("Engine", "IR"); ("Execution", "IR") ] do
                Expect.contains edges e "an edge the sources have"
            for c in cycles edges do
                let inCycle = edges |> List.filter (fun (a, b) -> List.contains a c && List.contains b c)
                failtestf "folders in a cycle: %s" (String.Join("; ", inCycle |> List.map (describe deps)))
        }
        test "the engine (Engine/, Training/) does not use the reference interpreter (Execution/)" {
            let deps = dependencies (runtimeSources ())
            let bad =
                deps |> List.map fst |> List.filter (fun (a, b) ->
                    (inside a "Engine" || inside a "Training") && inside b "Execution")
            Expect.isEmpty (bad |> List.map (describe deps)) "edges from the engine into the reference interpreter"
        }
    ]
