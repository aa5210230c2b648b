import CorralCore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// Renders a console's pages: each page is the shared layout (header, the
/// sections' links, the live badge) around one `main` template; a live
/// update asks for the page with `?fragment=1` and gets the main part alone.
/// The controller's cluster console and the executor's one-node console each
/// build one with their own templates, sections and event stream.
public struct ConsoleRenderer: Sendable {
    /// A link in the header.
    public struct Section: Sendable {
        public var label: String
        public var path: String
        public init(_ label: String, _ path: String) {
            self.label = label
            self.path = path
        }
    }

    /// Where the stylesheet and script are served.
    public static let cssPath = "ui/assets/console.css"
    public static let jsPath = "ui/assets/console.js"

    let library: MustacheLibrary
    let sections: [Section]
    let stream: String
    let brand: String

    /// `templates`: name to mustache text, each a page's main part. They
    /// are constants of the caller's source: a template that does not parse
    /// is a programming error, caught by the consoles' tests (it renders
    /// nothing).
    public init(templates: [String: String], sections: [Section], stream: String, brand: String = "Corral") {
        var l = MustacheLibrary()
        try? l.register(Self.layout, named: "layout")
        try? l.register(StagesView.template, named: "stages")
        for (name, text) in templates { try? l.register(text, named: name) }
        library = l
        self.sections = sections
        self.stream = stream
        self.brand = brand
    }

    /// Serves the stylesheet and script (no user needed: a login prompt's page must style).
    public static func addAssets<Context: RequestContext>(to router: Router<Context>) {
        router.get(RouterPath(stringLiteral: cssPath)) { _, _ in asset(ConsoleAssets.css, "text/css; charset=utf-8") }
        router.get(RouterPath(stringLiteral: jsPath)) { _, _ in asset(ConsoleAssets.js, "text/javascript; charset=utf-8") }
    }

    static func asset(_ text: String, _ type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    public static func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    public static func escape(_ s: String) -> String { MachineMap.escape(s) }

    /// A page that could not be built: why, in the page.
    public struct NotFound: Error, Sendable {
        public var what: String
        public init(what: String) { self.what = what }
    }

    /// Renders `template` with what `build` gives (plus `writer`, whether
    /// the user may act), inside the layout, or alone with `?fragment=1`.
    public func page(_ request: Request, template: String, title: String, writer: Bool,
                     _ build: () async throws -> [String: Any]) async -> Response {
        var model: [String: Any]
        do { model = try await build() } catch let e as NotFound {
            return finish(request, "<h1>Not found</h1><p>\(Self.escape(e.what)) is not known here.</p>", title: "Not found", writer: writer, status: .notFound)
        } catch {
            return finish(request, "<h1>Error</h1><p>\(Self.escape("\(error)"))</p>", title: "Error", writer: writer, status: .internalServerError)
        }
        model["writer"] = writer
        let main = library.render(model, withTemplate: template) ?? ""
        return finish(request, main, title: title, writer: writer, status: .ok)
    }

    func finish(_ request: Request, _ main: String, title: String, writer: Bool, status: HTTPResponse.Status) -> Response {
        if request.uri.queryParameters.get("fragment") == "1" { return Self.html(status, main) }
        let model: [String: Any] = ["title": title, "writer": writer, "main": main, "brand": brand, "stream": stream,
                                    "css": "/" + Self.cssPath, "js": "/" + Self.jsPath,
                                    "sections": sections.map { ["label": $0.label, "path": $0.path] }]
        return Self.html(status, library.render(model, withTemplate: "layout") ?? main)
    }

    static let layout = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}} · {{brand}}</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{{css}}">
    </head>
    <body data-writer="{{writer}}" data-stream="{{stream}}">
    <header>
      <a class="brand" href="/">{{brand}}</a>
      <nav aria-label="Sections">
        {{#sections}}<a href="{{path}}">{{label}}</a>
        {{/sections}}
      </nav>
      <span id="live" class="live" role="status" aria-live="polite">connecting…</span>
    </header>
    <main id="main">
    {{{main}}}
    </main>
    <script src="{{js}}"></script>
    </body>
    </html>
    """
}
