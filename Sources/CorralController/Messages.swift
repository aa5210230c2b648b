import CorralCore
import CorralExecutor
import Foundation
import Hummingbird
import NIOCore

/// `POST /apis/v1/messages` on the controller: the executors' state reports
/// (`INSTANCE_STATE_REPORT`, ...), answered with Drove's `MessageResponse`.
enum Messages {
    static func reply(_ status: DroveMessage.DeliveryStatus, _ message: String?, code: HTTPResponse.Status = .ok) -> Response {
        let header = DroveMessage.Header(id: UUID().uuidString.lowercased(), senderType: .CONTROLLER, direction: .REPLY,
                                         replyToId: nil, messageTime: Int64(Date().timeIntervalSince1970 * 1000))
        let data = (try? ControllerJSON.encoder.encode(DroveMessage.Response(header: header, status: status, message: message))) ?? Data()
        return Response(status: code, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    struct Envelope: Decodable { var type: String }

    /// Drove's `ExecutorSnapshotMessage`: an RPC-mode executor's node data.
    struct Snapshot: Decodable { var nodeData: ExecutorNodeData }

    static func handle(_ data: Data, engine: ApplicationEngine, snapshots: SnapshotRegistry? = nil) async -> Response {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: data) else {
            return reply(.REJECTED, "not a Drove message: it needs a type and a header", code: .badRequest)
        }
        guard let type = DroveMessage.ControllerMessageType(rawValue: envelope.type) else {
            return reply(.REJECTED, "unknown message type \(envelope.type)", code: .badRequest)
        }
        switch type {
        case .INSTANCE_STATE_REPORT:
            guard let report = try? JSONDecoder().decode(DroveMessage.StateReport<DroveInstanceInfo>.self, from: data) else {
                return reply(.REJECTED, "INSTANCE_STATE_REPORT needs resourceSnapshot and instanceInfo", code: .badRequest)
            }
            await engine.report(report.instanceInfo)
            return reply(.ACCEPTED, nil)
        case .TASK_STATE_REPORT:
            guard let report = try? JSONDecoder().decode(DroveMessage.StateReport<DroveTaskInfo>.self, from: data) else {
                return reply(.REJECTED, "TASK_STATE_REPORT needs resourceSnapshot and instanceInfo", code: .badRequest)
            }
            await engine.observeTask(report.instanceInfo)
            return reply(.ACCEPTED, nil)
        case .LOCAL_SERVICE_INSTANCE_STATE_REPORT:
            guard let report = try? JSONDecoder().decode(DroveMessage.StateReport<DroveLocalServiceInstanceInfo>.self, from: data) else {
                return reply(.REJECTED, "LOCAL_SERVICE_INSTANCE_STATE_REPORT needs resourceSnapshot and instanceInfo", code: .badRequest)
            }
            await engine.reportServiceInstance(report.instanceInfo)
            return reply(.ACCEPTED, nil)
        case .EXECUTOR_SNAPSHOT:
            // An executor in RPC mode: its node data is kept in ZooKeeper for
            // it, where the roster's watch reads it as any executor's.
            guard let snapshot = try? JSONDecoder().decode(Snapshot.self, from: data) else {
                return reply(.REJECTED, "EXECUTOR_SNAPSHOT needs nodeData (an executor's node data)", code: .badRequest)
            }
            guard let snapshots else { return reply(.FAILED, "this controller keeps no executor snapshots") }
            if let why = await snapshots.take(snapshot.nodeData) { return reply(.FAILED, why) }
            return reply(.ACCEPTED, nil)
        }
    }
}
