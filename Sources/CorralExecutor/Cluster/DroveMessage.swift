import Foundation

/// Drove's message envelope (`cmn/model/Message.java`, `MessageHeader.java`,
/// `MessageResponse.java`) for `POST /apis/v1/messages` on both sides.
public enum DroveMessage {
    public enum SenderType: String, Codable, Sendable { case CONTROLLER, EXECUTOR }
    public enum Direction: String, Codable, Sendable { case REQUEST, REPLY }

    /// What the receiver did with a message.
    public enum DeliveryStatus: String, Codable, Sendable, CaseIterable {
        /// Done (nothing to start).
        case HANDLED
        /// Taken: the work goes on and its states are reported.
        case ACCEPTED
        /// Not understood (malformed, unknown type): sending it again will not help.
        case REJECTED
        /// Understood but refused now (exists, resources taken, blacklisted).
        case FAILED
    }

    /// Controller → executor types.
    public enum ExecutorMessageType: String, Codable, Sendable, CaseIterable {
        case START_INSTANCE, STOP_INSTANCE, START_TASK, STOP_TASK
        case START_LOCAL_SERVICE_INSTANCE, STOP_LOCAL_SERVICE_INSTANCE
        case BLACKLIST_REQUESTED, BLACKLIST, UNBLACKLIST
        /// Corral's: a `corral run --cluster` job (``RemoteRunJob``) placed here.
        case START_RUN_JOB
    }

    /// Executor → controller types.
    public enum ControllerMessageType: String, Codable, Sendable {
        case INSTANCE_STATE_REPORT, TASK_STATE_REPORT, LOCAL_SERVICE_INSTANCE_STATE_REPORT, EXECUTOR_SNAPSHOT
    }

    public struct Header: Codable, Sendable, Hashable {
        public var id: String
        public var senderType: SenderType?
        public var direction: Direction?
        public var replyToId: String?
        /// Epoch milliseconds.
        public var messageTime: Int64?

        public init(id: String, senderType: SenderType?, direction: Direction?, replyToId: String?, messageTime: Int64?) {
            self.id = id
            self.senderType = senderType
            self.direction = direction
            self.replyToId = replyToId
            self.messageTime = messageTime
        }

        public static func executorRequest() -> Header {
            Header(id: UUID().uuidString.lowercased(), senderType: .EXECUTOR, direction: .REQUEST, replyToId: nil,
                   messageTime: Int64(Date().timeIntervalSince1970 * 1000))
        }
    }

    /// `MessageResponse{header, status}`; `message` (ignored by Drove) says why
    /// a message was refused.
    public struct Response: Codable, Sendable, Hashable {
        public var header: Header
        public var status: DeliveryStatus
        public var message: String?

        public init(header: Header, status: DeliveryStatus, message: String?) {
            self.header = header
            self.status = status
            self.message = message
        }
    }

    /// An executor's state report to the leader.
    public struct StateReport<Info: Codable & Sendable>: Codable, Sendable {
        public var type: ControllerMessageType
        public var header: Header
        public var resourceSnapshot: DroveResources.Snapshot
        public var instanceInfo: Info
    }
}
