import CorralCore
@testable import CorralEngines
import Foundation
import PropertyBased
import Testing

/// The Docker API models against responses recorded from a real Podman 4.3 service.
@Suite struct DockerModelTests {
    static func recorded(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Recorded/\(name)", withExtension: "json"))
        return try Data(contentsOf: url)
    }

    @Test func decodesRecordedResponses() throws {
        let v = try JSONDecoder().decode(Docker.Version.self, from: Self.recorded("version"))
        #expect(v.ApiVersion == "1.41")
        #expect(v.MinAPIVersion == "1.24")
        let img = try JSONDecoder().decode(Docker.ImageInspect.self, from: Self.recorded("image-inspect"))
        #expect(img.RepoTags == ["localhost/corral-test:1"])
        let created = try JSONDecoder().decode(Docker.CreateResponse.self, from: Self.recorded("container-create"))
        #expect(created.Id.count == 64)
        let running = try JSONDecoder().decode(Docker.ContainerInspect.self, from: Self.recorded("container-inspect-running"))
        #expect(running.State.Running)
        #expect(running.State.Pid ?? 0 > 0)
        #expect(running.HostConfig?.CpusetCpus == "1")
        #expect(running.HostConfig?.Memory == 67_108_864)
        #expect(running.Config?.Labels?["corral.instance-id"] == "rec-1")
        let exited = try JSONDecoder().decode(Docker.ContainerInspect.self, from: Self.recorded("container-inspect-exited"))
        #expect(!exited.State.Running)
        #expect(exited.State.ExitCode == 137)
        let list = try JSONDecoder().decode([Docker.ContainerSummary].self, from: Self.recorded("container-list"))
        #expect(list.first?.Labels?["corral.app-id"] == "app")
        #expect(list.first?.State == "running")
        let exec = try JSONDecoder().decode(Docker.IDResponse.self, from: Self.recorded("exec-create"))
        #expect(!exec.Id.isEmpty)
        let execInfo = try JSONDecoder().decode(Docker.ExecInspect.self, from: Self.recorded("exec-inspect"))
        #expect(execInfo.ExitCode == 3)
    }

    @Test func errorBodiesGiveTheEnginesMessage() throws {
        for (name, fragment) in [("error-no-image", "No such image"), ("error-no-container", "no such container"),
                                 ("error-name-conflict", "already in use")] {
            let r = DockerClient.Response(status: 404, body: Array(try Self.recorded(name)))
            #expect(DockerClient.message(r).contains(fragment), "\(name)")
        }
        #expect(DockerClient.message(.init(status: 500, body: Array("{\"message\":\"boom\"}".utf8))) == "boom")
        #expect(DockerClient.message(.init(status: 502, body: [])) == "HTTP 502")
    }

    @Test func demultiplexesFramesCutAnywhere() async {
        // A recorded stream: stdout "hi\n", stderr "err\n", stdout "done\n".
        func frame(_ s: UInt8, _ text: String) -> [UInt8] {
            let p = Array(text.utf8)
            return [s, 0, 0, 0, UInt8(p.count >> 24 & 0xff), UInt8(p.count >> 16 & 0xff), UInt8(p.count >> 8 & 0xff),
                    UInt8(p.count & 0xff)] + p
        }
        let stream = frame(1, "hi\n") + frame(2, "err\n") + frame(1, String(repeating: "x", count: 300)) + frame(1, "done\n")
        await propertyCheck(input: Gen.int(in: 1...stream.count).array(of: 0...6)) { cuts in
            var d = DockerStreamDemuxer()
            var frames: [(DockerStreamDemuxer.Stream, [UInt8])] = []
            var start = 0
            for cut in (cuts.sorted() + [stream.count]) where cut > start {
                frames += d.feed(stream[start..<cut])
                start = cut
            }
            #expect(frames.map(\.0) == [.stdout, .stderr, .stdout, .stdout])
            #expect(String(decoding: frames[1].1, as: UTF8.self) == "err\n")
            #expect(frames[2].1.count == 300)
            #expect(d.buffered == 0)
        }
    }

    static func launch(pinned: Bool) -> Launch {
        let a = Allocation(id: "x", cpus: pinned ? [2, 3, 42, 43] : [], cpuCount: 4, requestedCPUs: 4,
                           numaNodes: pinned ? [0] : [], memoryBytes: 512 << 20, memoryByNode: [:], gpus: [1],
                           pinned: pinned)
        return Launch(instanceID: "AI-1", appID: "billing-1", kind: .application,
                      executable: .docker(image: "localhost/corral-test:1", pullPolicy: .IF_NOT_PRESENT),
                      args: ["--serve"], env: ["TOKEN": "s3cr3t-token", "PORT_8000": "31000"], allocation: a,
                      ports: [PortBinding(name: "main", containerPort: 8000, hostPort: 31000)],
                      volumes: [VolumeMount(pathInContainer: "/data", pathOnHost: "/srv/data", mode: .READ_ONLY)],
                      user: UserSpec(user: "1000", group: "1000"), maxOpenFiles: 470_000, specHash: "abc123")
    }

    @Test func pinnedCreateRequest() throws {
        let (body, warnings) = DockerEngine.createRequest(for: Self.launch(pinned: true), image: "img",
                                                          hardNofile: 20_000, hardNproc: 4096)
        #expect(body.HostConfig.CpusetCpus == "2-3,42-43")
        #expect(body.HostConfig.CpusetMems == "0")
        #expect(body.HostConfig.CpuShares == nil)
        #expect(body.HostConfig.Memory == 512 << 20)
        #expect(body.HostConfig.MemorySwap == 512 << 20)
        #expect(body.HostConfig.Ulimits == [Docker.Ulimit(Name: "nofile", Soft: 20_000, Hard: 20_000),
                                            Docker.Ulimit(Name: "nproc", Soft: 4096, Hard: 4096)])
        #expect(warnings == ["maxOpenFiles 470000 is above this host's hard limit 20000: the container gets 20000"])
        #expect(body.HostConfig.PortBindings?["8000/tcp"] == [Docker.PortBinding(HostIp: "", HostPort: "31000")])
        #expect(body.ExposedPorts?["8000/tcp"] != nil)
        #expect(body.HostConfig.Binds == ["/srv/data:/data:ro"])
        #expect(body.HostConfig.DeviceRequests == [Docker.DeviceRequest(Driver: "nvidia", DeviceIDs: ["1"], Capabilities: [["gpu"]])])
        #expect(body.User == "1000:1000")
        #expect(body.Cmd == ["--serve"])
        #expect(body.Env?.contains("PORT_8000=31000") == true)
        #expect(body.Labels == ["corral.instance-id": "AI-1", "corral.app-id": "billing-1", "corral.kind": "application",
                                "corral.spec-hash": "abc123"])
        // Labels never carry the environment (it may hold secrets).
        let encoded = String(decoding: DockerClient.encode(body.Labels), as: UTF8.self)
        #expect(!encoded.contains("s3cr3t"))
    }

    @Test func unpinnedCreateRequestWeighsCPU() {
        let (body, _) = DockerEngine.createRequest(for: Self.launch(pinned: false), image: "img",
                                                   hardNofile: 1_000_000, hardNproc: 1_000_000)
        #expect(body.HostConfig.CpusetCpus == nil)
        #expect(body.HostConfig.CpusetMems == nil)
        #expect(body.HostConfig.CpuShares == 4096)
        #expect(body.HostConfig.Ulimits?.first == Docker.Ulimit(Name: "nofile", Soft: 470_000, Hard: 470_000))
    }

    @Test func imageNamesSplitIntoRepositoryAndTag() {
        #expect(DockerClient.splitImage("localhost/corral-test:1") == ("localhost/corral-test", "1"))
        #expect(DockerClient.splitImage("busybox") == ("busybox", "latest"))
        #expect(DockerClient.splitImage("registry:5000/app") == ("registry:5000/app", "latest"))
        #expect(DockerClient.splitImage("app@sha256:abc").1 == "")
    }

    @Test func apiVersionsCompareNumerically() {
        #expect(DockerClient.compare("1.9", "1.41") < 0)
        #expect(DockerClient.compare("1.41", "1.41") == 0)
        #expect(DockerClient.compare("1.43", "1.41") > 0)
    }
}
