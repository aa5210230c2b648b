import Logging
import NIOCore
import NIOPosix

/// How a ``ZooKeeperClient`` connects.
public struct ZooKeeperClientConfiguration: Sendable {
    public var connectionString: ZooKeeperConnectionString
    /// Asked of the ensemble, which clamps it to [2, 20] × its tickTime.
    public var sessionTimeout: Duration
    /// How long a call may take, waiting for a connection included, unless the
    /// call names its own timeout.
    public var requestTimeout: Duration
    /// The largest frame accepted from a server (`jute.maxbuffer`).
    public var maxFrameSize: Int
    /// Credentials sent on every connection (`digest`, `user:password`).
    /// They are never logged nor printed.
    public var authentication: [AuthPacket]
    public var eventLoopGroup: any EventLoopGroup
    public var logger: Logger

    public init(connectionString: ZooKeeperConnectionString,
                sessionTimeout: Duration = .seconds(30),
                requestTimeout: Duration = .seconds(10),
                maxFrameSize: Int = JuteFrame.defaultLimit,
                authentication: [AuthPacket] = [],
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "zookeeper")) {
        self.connectionString = connectionString
        self.sessionTimeout = sessionTimeout
        self.requestTimeout = requestTimeout
        self.maxFrameSize = maxFrameSize
        self.authentication = authentication
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }
}
