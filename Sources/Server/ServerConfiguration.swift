/// What `mailsift serve` runs with (each a command-line option; see docs/api.md).
public struct ServerConfiguration: Sendable {
    public var dataRoot: String
    /// HTTP on a Unix socket (mode 0660); nil: none.
    public var socketPath: String?
    /// HTTP on TCP (`host:port`); nil: none.
    public var listen: String?
    /// The bearer token TCP clients must send (also accepted as the Basic auth password).
    public var token: String?
    /// TCP on a loopback address without a token (an explicit choice).
    public var insecureLoopback = false
    /// Indexing worker threads.
    public var indexWorkers = 1
    /// Messages one worker indexes per commit.
    public var indexBatch = 1_000
    /// Seconds a user's first queued message waits for others before a commit (0: none).
    public var commitDelay = 1.0
    /// Nice value of the indexing workers and their merges (0...19; Linux, per thread): with
    /// the cores busy, searches run first (queued messages stay searchable meanwhile).
    public var indexNice: Int32 = 10
    /// Threads that run searches and catalog work (off the event loops).
    public var searchThreads = 4
    /// Word searches (`QueryNode.isWordLookup`, no snippets, the user's index open) run on
    /// the event loop that read the request instead of hopping to a search thread and back:
    /// a few hundred microseconds each, and two thread hand-offs fewer.
    public var inlineWordSearches = true
    /// Searches at once before new ones get 429.
    public var maxConcurrentSearches = 64
    /// Largest request body, bytes.
    public var maxBodyBytes = 64 << 20
    /// Accepted, not yet indexed messages one user may have before adds get 429.
    public var maxQueuedPerUser = 100_000
    /// User indexes held open at once.
    public var openUsers = 256
    /// Index writer RAM budget per open user.
    public var ramBudget = 16 << 20
    /// Wall-clock budget of one query, seconds.
    public var queryTimeBudget = 10.0

    public init(dataRoot: String) { self.dataRoot = dataRoot }
}
