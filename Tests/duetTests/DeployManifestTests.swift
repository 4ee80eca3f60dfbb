// The deployment files under deploy/: the Kubernetes manifests (parsed by PyYAML
// through python3, since Yams is not a dependency of this target), the Dockerfile,
// the Slurm batch script (`bash -n`, and `shellcheck` where it is installed) and the
// systemd units. They are checked for what the deployment relies on: the roles the
// containers run, port 5555, the image name, the CURVE key Secret and its mounts.

import Foundation
import Testing

/// Finding, reading and parsing the files under deploy/.
enum DeployFiles {
    /// The package root: this file is Tests/duetTests/DeployManifestTests.swift.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }

    static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: url(relativePath), encoding: .utf8)
    }

    /// The first executable called `name` on PATH (or in the usual system folders).
    static func which(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/bin"]
        for folder in folders where !folder.isEmpty {
            let candidate = URL(fileURLWithPath: folder).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// Runs `executable arguments...` in the package root (see `runProcess`).
    static func run(_ executable: URL, _ arguments: [String]) throws -> CLIRun {
        try runProcess(executable, arguments)
    }

    /// Loads every (non-empty) YAML document of a file with PyYAML's safe loader, via
    /// JSON. Returns nil after recording an issue when python3 or PyYAML is missing.
    static func yamlDocuments(_ relativePath: String) throws -> [[String: Any]]? {
        guard let python = which("python3") else {
            Issue.record("python3 is not installed: cannot parse \(relativePath) (install python3 and PyYAML, Debian: python3-yaml)")
            return nil
        }
        let probe = try run(python, ["-c", "import yaml"])
        guard probe.status == 0 else {
            Issue.record("PyYAML is not available (`python3 -c \"import yaml\"` failed): cannot parse \(relativePath); install it (Debian: python3-yaml, or pip install pyyaml)\n\(probe.summary)")
            return nil
        }
        let script = """
            import json, sys, yaml
            with open(sys.argv[1]) as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
            json.dump(docs, sys.stdout)
            """
        let result = try run(python, ["-c", script, url(relativePath).path])
        try #require(result.status == 0, "PyYAML could not load \(relativePath)\n\(result.summary)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        let documents = try #require(json as? [Any], "\(relativePath): expected a list of documents")
        return try documents.map { document in
            try #require(document as? [String: Any], "\(relativePath): every document should be a mapping")
        }
    }

    /// The document of `kind` in a file's documents.
    static func document(_ kind: String, in documents: [[String: Any]], file: String) throws -> [String: Any] {
        try #require(documents.first { $0["kind"] as? String == kind }, "\(file) has no \(kind)")
    }

    /// The logical lines of a Dockerfile or systemd unit: comments and blank lines
    /// dropped, backslash continuations joined.
    static func logicalLines(_ text: String) -> [String] {
        var lines: [String] = []
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if pending.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
            if line.hasPrefix("#") { continue }  // a comment inside a continued instruction
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
            } else {
                lines.append(pending + line)
                pending = ""
            }
        }
        if !pending.isEmpty { lines.append(pending) }
        return lines
    }

    /// A systemd unit as (section, key, value) entries, in file order.
    static func unitEntries(_ relativePath: String) throws -> [(section: String, key: String, value: String)] {
        var section = ""
        var entries: [(section: String, key: String, value: String)] = []
        for line in logicalLines(try text(relativePath)) {
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
            } else if let equals = line.firstIndex(of: "=") {
                let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                entries.append((section, key, value))
            }
        }
        return entries
    }
}

/// Navigating the JSON form of a manifest.
private func yamlMapping(_ value: Any?, _ what: String) throws -> [String: Any] {
    try #require(value as? [String: Any], "\(what) should be a mapping")
}

private func yamlList(_ value: Any?, _ what: String) throws -> [[String: Any]] {
    try #require(value as? [[String: Any]], "\(what) should be a list of mappings")
}

/// The pod spec of a StatefulSet or Deployment.
private func podSpec(_ workload: [String: Any]) throws -> [String: Any] {
    let spec = try yamlMapping(workload["spec"], "spec")
    let template = try yamlMapping(spec["template"], "spec.template")
    return try yamlMapping(template["spec"], "spec.template.spec")
}

/// The single container of a workload.
private func onlyContainer(_ workload: [String: Any]) throws -> [String: Any] {
    let containers = try yamlList(try podSpec(workload)["containers"], "containers")
    try #require(containers.count == 1, "expected one container, found \(containers.count)")
    return containers[0]
}

/// A container's command and args, as strings.
private func containerArguments(_ container: [String: Any]) -> [String] {
    let command = (container["command"] as? [Any]) ?? []
    let args = (container["args"] as? [Any]) ?? []
    return (command + args).map { "\($0)" }
}

/// The value after `flag` in an argument list.
private func argument(after flag: String, in arguments: [String]) -> String? {
    guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

/// Checks that the Secret `duet-keys` is a volume of the workload, mounted read-only at
/// the container's `--keys` directory, and returns the Secret keys it projects (key -> path).
private func keyMount(_ workload: [String: Any], file: String) throws -> [String: String] {
    let container = try onlyContainer(workload)
    let keysDirectory = try #require(argument(after: "--keys", in: containerArguments(container)),
                                     "\(file): the container should be given --keys DIR (the manifests must use CURVE keys)")
    let volumes = try yamlList(try podSpec(workload)["volumes"], "\(file) volumes")
    let secretVolume = try #require(
        volumes.first { (($0["secret"] as? [String: Any])?["secretName"] as? String) == "duet-keys" },
        "\(file): no volume from the Secret duet-keys")
    let volumeName = try #require(secretVolume["name"] as? String)
    let mounts = try yamlList(container["volumeMounts"], "\(file) volumeMounts")
    let mount = try #require(mounts.first { $0["name"] as? String == volumeName },
                             "\(file): the duet-keys volume is not mounted")
    #expect(mount["mountPath"] as? String == keysDirectory, "\(file): keys mounted at \(mount["mountPath"] ?? "?"), --keys \(keysDirectory)")
    #expect(mount["readOnly"] as? Bool == true, "\(file): the key mount should be read-only")
    let secret = try yamlMapping(secretVolume["secret"], "\(file) secret volume")
    var items: [String: String] = [:]
    for item in (secret["items"] as? [[String: Any]]) ?? [] {
        if let key = item["key"] as? String, let path = item["path"] as? String { items[key] = path }
    }
    return items
}

@Suite("Deployment files under deploy/")
struct DeployManifestTests {
    static let kubernetesFiles = [
        "deploy/kubernetes/coordinator.yaml",
        "deploy/kubernetes/workers.yaml",
        "deploy/kubernetes/secret-example.yaml",
        "deploy/kubernetes/kustomization.yaml",
        "deploy/kubernetes/serve.yaml",
        "deploy/kubernetes/serve-autoscaling.yaml",
        "deploy/kubernetes/workers-autoscaling.yaml",
    ]

    @Test("every Kubernetes file parses and together they hold the expected kinds")
    func kubernetesKinds() throws {
        var kinds: Set<String> = []
        for file in Self.kubernetesFiles {
            guard let documents = try DeployFiles.yamlDocuments(file) else { return }
            #expect(!documents.isEmpty, "\(file) has no documents")
            for document in documents {
                let kind = try #require(document["kind"] as? String, "\(file): a document without kind")
                kinds.insert(kind)
            }
        }
        for kind in ["StatefulSet", "Service", "Deployment", "Secret", "Kustomization", "ScaledObject"] {
            #expect(kinds.contains(kind), "no \(kind) in deploy/kubernetes (found \(kinds.sorted()))")
        }
    }

    @Test("duet serve: listens beyond loopback with a token from its Secret, the model from its ConfigMap, probes on /healthz")
    func serve() throws {
        let file = "deploy/kubernetes/serve.yaml"
        guard let documents = try DeployFiles.yamlDocuments(file) else { return }
        let deployment = try DeployFiles.document("Deployment", in: documents, file: file)
        let container = try onlyContainer(deployment)
        let arguments = containerArguments(container)
        #expect(arguments.first == "serve")
        // duet serve refuses a non-loopback bind without a token file.
        #expect(argument(after: "--bind", in: arguments) == "0.0.0.0:8080")
        let tokenFile = try #require(argument(after: "--token-file", in: arguments), "\(file): --token-file is required off loopback")
        let mounts = try yamlList(container["volumeMounts"], "\(file) volumeMounts")
        let volumes = try yamlList(try podSpec(deployment)["volumes"], "\(file) volumes")
        func mountPath(source: String, name: String) throws -> String {
            let volume = try #require(volumes.first { (($0[source] as? [String: Any])?[source == "secret" ? "secretName" : "name"] as? String) == name },
                                      "\(file): no volume from the \(source) \(name)")
            let mount = try #require(mounts.first { $0["name"] as? String == volume["name"] as? String }, "\(file): \(name) is not mounted")
            #expect(mount["readOnly"] as? Bool == true)
            return try #require(mount["mountPath"] as? String)
        }
        #expect(tokenFile.hasPrefix(try mountPath(source: "secret", name: "duet-serve-token") + "/"))
        let model = try #require(arguments.dropFirst().first)
        #expect(model.hasPrefix(try mountPath(source: "configMap", name: "duet-model") + "/"))
        for probe in ["readinessProbe", "livenessProbe"] {
            let get = try yamlMapping(try yamlMapping(container[probe], probe)["httpGet"], "\(probe).httpGet")
            #expect(get["path"] as? String == "/healthz", "\(probe) must use the route that needs no token")
        }
        let ports = try yamlList(container["ports"], "ports")
        #expect(ports.first?["containerPort"] as? Int == 8080)
        let service = try DeployFiles.document("Service", in: documents, file: file)
        let servicePorts = try yamlList(try yamlMapping(service["spec"], "Service spec")["ports"], "Service ports")
        #expect(servicePorts.first?["targetPort"] as? String == ports.first?["name"] as? String)

        let autoscaling = "deploy/kubernetes/serve-autoscaling.yaml"
        guard let scaling = try DeployFiles.yamlDocuments(autoscaling) else { return }
        let scaledObject = try DeployFiles.document("ScaledObject", in: scaling, file: autoscaling)
        let target = try yamlMapping(try yamlMapping(scaledObject["spec"], "spec")["scaleTargetRef"], "scaleTargetRef")
        #expect(target["name"] as? String == "duet-serve")
        for trigger in try yamlList(try yamlMapping(scaledObject["spec"], "spec")["triggers"], "triggers") {
            let query = try #require(try yamlMapping(trigger["metadata"], "trigger metadata")["query"] as? String)
            #expect(query.contains("duet_serve_"), "a trigger should read duet serve's metrics: \(query)")
        }
    }

    @Test("worker autoscaling: KEDA scales duet-worker on the coordinator's metrics, which it serves and its Service exposes")
    func workerAutoscaling() throws {
        let file = "deploy/kubernetes/coordinator.yaml"
        guard let documents = try DeployFiles.yamlDocuments(file) else { return }
        let statefulSet = try DeployFiles.document("StatefulSet", in: documents, file: file)
        let container = try onlyContainer(statefulSet)
        let metrics = try #require(argument(after: "--metrics", in: containerArguments(container)), "no --metrics")
        let port = try #require(metrics.split(separator: ":").last.flatMap { Int($0) }, "--metrics \(metrics): no port")
        let containerPort = try #require(
            try yamlList(container["ports"], "ports").first { $0["containerPort"] as? Int == port }, "no containerPort \(port)")
        let service = try DeployFiles.document("Service", in: documents, file: file)
        let servicePorts = try yamlList(try yamlMapping(service["spec"], "Service spec")["ports"], "Service ports")
        let servicePort = try #require(servicePorts.first { $0["targetPort"] as? String == containerPort["name"] as? String },
                                       "the Service does not expose the metrics port: \(servicePorts)")

        let autoscaling = "deploy/kubernetes/workers-autoscaling.yaml"
        guard let scaling = try DeployFiles.yamlDocuments(autoscaling) else { return }
        let monitor = try DeployFiles.document("ServiceMonitor", in: scaling, file: autoscaling)
        let endpoints = try yamlList(try yamlMapping(monitor["spec"], "ServiceMonitor spec")["endpoints"], "endpoints")
        #expect(endpoints.first?["port"] as? String == servicePort["name"] as? String)
        #expect(endpoints.first?["path"] as? String == "/metrics")
        let scaledObject = try DeployFiles.document("ScaledObject", in: scaling, file: autoscaling)
        let target = try yamlMapping(try yamlMapping(scaledObject["spec"], "spec")["scaleTargetRef"], "scaleTargetRef")
        #expect(target["name"] as? String == "duet-worker")
        for trigger in try yamlList(try yamlMapping(scaledObject["spec"], "spec")["triggers"], "triggers") {
            #expect(trigger["type"] as? String == "prometheus")
            let query = try #require(try yamlMapping(trigger["metadata"], "trigger metadata")["query"] as? String)
            #expect(query.contains("duet_coordinator_tasks_queued"), "a trigger should read the queue depth: \(query)")
        }
    }

    @Test("the coordinator: one replica, journal on a claim, Service and probe on 5555, keys from the Secret")
    func coordinator() throws {
        let file = "deploy/kubernetes/coordinator.yaml"
        guard let documents = try DeployFiles.yamlDocuments(file) else { return }
        let statefulSet = try DeployFiles.document("StatefulSet", in: documents, file: file)
        let spec = try yamlMapping(statefulSet["spec"], "StatefulSet spec")
        #expect(spec["replicas"] as? Int == 1)
        #expect(spec["serviceName"] as? String == "duet-coordinator")

        let container = try onlyContainer(statefulSet)
        let arguments = containerArguments(container)
        #expect(arguments.contains("coordinator"), "arguments: \(arguments)")
        #expect(argument(after: "--bind", in: arguments) == "tcp://*:5555", "arguments: \(arguments)")
        #expect(argument(after: "--journal", in: arguments) == "/var/lib/duet/duet.sqlite", "arguments: \(arguments)")
        #expect(!arguments.contains("--insecure"), "the manifests must use CURVE keys")

        // Port 5555, by number or by the port's name.
        let ports = try yamlList(container["ports"], "ports")
        let port = try #require(ports.first { $0["containerPort"] as? Int == 5555 }, "no containerPort 5555")
        let probe = try yamlMapping(container["readinessProbe"], "readinessProbe")
        let tcpSocket = try yamlMapping(probe["tcpSocket"], "readinessProbe.tcpSocket")
        let probePort = "\(tcpSocket["port"] ?? "")"
        #expect(probePort == "5555" || probePort == port["name"] as? String, "readiness probe on \(probePort)")
        let resources = try yamlMapping(container["resources"], "resources")
        let requests = try yamlMapping(resources["requests"], "resources.requests")
        #expect(requests["cpu"] != nil && requests["memory"] != nil, "resource requests: \(requests)")

        // The journal's directory is a volumeClaimTemplate.
        let claims = try yamlList(spec["volumeClaimTemplates"], "volumeClaimTemplates")
        let claimNames = claims.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
        let mounts = try yamlList(container["volumeMounts"], "volumeMounts")
        let journalMount = try #require(mounts.first { $0["mountPath"] as? String == "/var/lib/duet" },
                                        "nothing mounted at /var/lib/duet")
        #expect(claimNames.contains(journalMount["name"] as? String ?? ""),
                "/var/lib/duet is \(journalMount["name"] ?? "?"), not one of the claims \(claimNames)")

        // The coordinator's keys: its own pair and an allow-list under allowed/.
        let items = try keyMount(statefulSet, file: file)
        #expect(items["coordinator.key"] == "coordinator.key")
        #expect(items["coordinator.pub"] == "coordinator.pub")
        #expect(items.values.contains { $0.hasPrefix("allowed/") && $0.hasSuffix(".pub") }, "no allowed/*.pub in \(items)")
        #expect(!items.keys.contains("worker.key"), "the coordinator should not get the workers' secret key")

        // The Service `duet-coordinator` on 5555 selects the coordinator's pods.
        let service = try DeployFiles.document("Service", in: documents, file: file)
        #expect((service["metadata"] as? [String: Any])?["name"] as? String == "duet-coordinator")
        let serviceSpec = try yamlMapping(service["spec"], "Service spec")
        let servicePorts = try yamlList(serviceSpec["ports"], "Service ports")
        #expect(servicePorts.contains { $0["port"] as? Int == 5555 }, "Service ports: \(servicePorts)")
        let selector = try yamlMapping(serviceSpec["selector"], "Service selector")
        let template = try yamlMapping(spec["template"], "template")
        let podLabels = try yamlMapping((template["metadata"] as? [String: Any])?["labels"], "pod labels")
        for (key, expected) in selector {
            #expect(podLabels[key] as? String == expected as? String, "the Service selects \(key)=\(expected); pods have \(podLabels)")
        }
    }

    @Test("the workers: a Deployment of 2 connecting to duet-coordinator:5555, slots from the CPU limit, keys from the Secret")
    func workers() throws {
        let file = "deploy/kubernetes/workers.yaml"
        guard let documents = try DeployFiles.yamlDocuments(file) else { return }
        let deployment = try DeployFiles.document("Deployment", in: documents, file: file)
        #expect((deployment["metadata"] as? [String: Any])?["name"] as? String == "duet-worker")
        #expect((deployment["spec"] as? [String: Any])?["replicas"] as? Int == 2)

        let container = try onlyContainer(deployment)
        let arguments = containerArguments(container)
        #expect(arguments.contains("worker"), "arguments: \(arguments)")
        #expect(argument(after: "--coordinator", in: arguments) == "tcp://duet-coordinator:5555", "arguments: \(arguments)")
        #expect(!arguments.contains("--insecure"), "the manifests must use CURVE keys")

        // --slots $(VAR) with VAR from the container's CPU limit.
        let slots = try #require(argument(after: "--slots", in: arguments), "no --slots in \(arguments)")
        #expect(slots.hasPrefix("$(") && slots.hasSuffix(")"), "--slots \(slots) should name an env variable")
        let variable = String(slots.dropFirst(2).dropLast())
        let env = try yamlList(container["env"], "env")
        let entry = try #require(env.first { $0["name"] as? String == variable }, "no env \(variable)")
        let field = (entry["valueFrom"] as? [String: Any])?["resourceFieldRef"] as? [String: Any]
        #expect(field?["resource"] as? String == "limits.cpu", "\(variable) should come from limits.cpu: \(entry)")
        let limits = (container["resources"] as? [String: Any])?["limits"] as? [String: Any]
        #expect(limits?["cpu"] != nil, "the worker needs a CPU limit for its slots")

        let items = try keyMount(deployment, file: file)
        #expect(items["coordinator.pub"] == "coordinator.pub")
        #expect(items["worker.key"] == "worker.key")
        #expect(items["worker.pub"] == "worker.pub")
        #expect(!items.keys.contains("coordinator.key"), "workers should not get the coordinator's secret key")
    }

    @Test("the image duet:latest is set once, in the kustomization, which lists the manifests")
    func imageName() throws {
        let file = "deploy/kubernetes/kustomization.yaml"
        guard let kustomization = try DeployFiles.yamlDocuments(file)?.first else { return }
        #expect(kustomization["kind"] as? String == "Kustomization")
        let images = try yamlList(kustomization["images"], "images")
        let image = try #require(images.first { $0["name"] as? String == "duet" }, "no image entry named duet")
        #expect("\(image["newName"] ?? "duet"):\(image["newTag"] ?? "")" == "duet:latest", "image entry: \(image)")

        let resources = (kustomization["resources"] as? [String]) ?? []
        for manifest in ["coordinator.yaml", "workers.yaml"] {
            #expect(resources.contains(manifest), "kustomization resources \(resources) miss \(manifest)")
        }
        for resource in resources {
            #expect(FileManager.default.fileExists(atPath: DeployFiles.url("deploy/kubernetes/\(resource)").path),
                    "kustomization lists \(resource), which does not exist")
        }

        // The manifests name the image `duet` (which the entry above rewrites).
        for manifest in ["deploy/kubernetes/coordinator.yaml", "deploy/kubernetes/workers.yaml"] {
            guard let documents = try DeployFiles.yamlDocuments(manifest) else { return }
            for workload in documents where ["StatefulSet", "Deployment"].contains(workload["kind"] as? String ?? "") {
                let container = try onlyContainer(workload)
                let name = container["image"] as? String ?? ""
                #expect(name == "duet" || name == "duet:latest", "\(manifest): image \(name)")
            }
        }
    }

    @Test("the Secret template duet-keys holds every key the pods project, and says how to create it")
    func secretTemplate() throws {
        let file = "deploy/kubernetes/secret-example.yaml"
        guard let documents = try DeployFiles.yamlDocuments(file) else { return }
        let secret = try DeployFiles.document("Secret", in: documents, file: file)
        #expect((secret["metadata"] as? [String: Any])?["name"] as? String == "duet-keys")
        let data = ((secret["stringData"] as? [String: Any]) ?? [:]).merging((secret["data"] as? [String: Any]) ?? [:]) { a, _ in a }

        var projected: Set<String> = []
        for manifest in ["deploy/kubernetes/coordinator.yaml", "deploy/kubernetes/workers.yaml"] {
            guard let manifestDocuments = try DeployFiles.yamlDocuments(manifest) else { return }
            for workload in manifestDocuments where ["StatefulSet", "Deployment"].contains(workload["kind"] as? String ?? "") {
                projected.formUnion(try keyMount(workload, file: manifest).keys)
            }
        }
        #expect(!projected.isEmpty)
        for key in projected.sorted() {
            #expect(data[key] != nil, "the pods mount \(key), which the Secret template lacks")
        }

        let text = try DeployFiles.text(file)
        #expect(text.contains("kubectl create secret generic duet-keys"))
        #expect(text.contains("--from-file"))
        #expect(text.contains("duet keys generate"))
    }

    @Test("the Dockerfile: a build and a runtime stage; the runtime installs libzmq5 and libopenblas0")
    func dockerfile() throws {
        let lines = DeployFiles.logicalLines(try DeployFiles.text("deploy/docker/Dockerfile"))
        let instruction = { (line: String) in line.split(separator: " ").first.map { $0.uppercased() } ?? "" }
        var stages: [[String]] = []
        for line in lines {
            if instruction(line) == "FROM" {
                stages.append([line])
            } else if !stages.isEmpty {
                stages[stages.count - 1].append(line)
            }
        }
        try #require(stages.count == 2, "expected two FROM stages, found \(stages.count)")
        let build = stages[0].joined(separator: "\n")
        let runtime = stages[1].joined(separator: "\n")

        #expect(build.contains("swift build"), "the build stage should run swift build")
        #expect(build.contains("-c release") && build.contains("--product duet"))
        for package in ["libzmq3-dev", "libopenblas-dev", "libsqlite3-dev"] {
            #expect(build.contains(package), "the build stage should install \(package)")
        }

        let installs = stages[1].filter { instruction($0) == "RUN" && $0.contains("apt-get install") }.joined(separator: "\n")
        for package in ["libzmq5", "libopenblas0", "libsqlite3-0"] {
            #expect(installs.range(of: "\\b\(package)\\b", options: .regularExpression) != nil,
                    "the runtime stage should apt-get install \(package)")
        }
        #expect(runtime.contains("COPY --from="), "the runtime stage should copy the binary from the build stage")
        #expect(runtime.contains(#"ENTRYPOINT ["duet"]"#))
        #expect(runtime.contains("EXPOSE 5555"))
        // `duet predict` in the image finds the shipped model beside its PREFIX
        // (ShippedModel.locate: PREFIX/share/duet for PREFIX/bin/duet).
        #expect(runtime.contains("/usr/local/bin/duet") && runtime.contains("models/duet-tandem-v1.json /usr/local/share/duet/duet-tandem-v1.json"),
                "the runtime stage should copy the shipped model into /usr/local/share/duet")
        let user = stages[1].last { instruction($0) == "USER" }
        #expect(user != nil && !user!.contains("root") && user != "USER 0", "the runtime should run as a non-root user")
    }

    @Test("the Slurm batch script passes bash -n and starts the coordinator and workers")
    func slurmSyntax() throws {
        let script = "deploy/slurm/duet.sbatch"
        let bash = try #require(DeployFiles.which("bash"), "bash is not installed")
        let result = try DeployFiles.run(bash, ["-n", script])
        #expect(result.status == 0, "bash -n \(script)\n\(result.summary)")

        let text = try DeployFiles.text(script)
        #expect(text.hasPrefix("#!"))
        #expect(text.contains("#SBATCH"))
        #expect(text.contains(#"scontrol show hostnames "$SLURM_JOB_NODELIST""#))
        #expect(text.contains("srun"))
        #expect(text.contains("trap "))
        #expect(text.contains("coordinator --bind"))
        #expect(text.contains("worker --coordinator"))
        #expect(text.contains("--keys"))
    }

    @Test("the Slurm batch script passes shellcheck",
          .enabled(if: DeployFiles.which("shellcheck") != nil,
                   "shellcheck is not installed (Debian package shellcheck; `make test` installs it)"))
    func slurmShellcheck() throws {
        let shellcheck = try #require(DeployFiles.which("shellcheck"))
        let result = try DeployFiles.run(shellcheck, ["deploy/slurm/duet.sbatch"])
        #expect(result.status == 0, "shellcheck deploy/slurm/duet.sbatch\n\(result.summary)")
    }

    @Test("the systemd units start duet coordinator / duet worker, restart on failure and stop on SIGTERM",
          arguments: [
            ("deploy/systemd/duet-coordinator.service", "duet coordinator"),
            ("deploy/systemd/duet-worker@.service", "duet worker"),
          ])
    func systemdUnit(file: String, command: String) throws {
        let entries = try DeployFiles.unitEntries(file)
        func values(_ key: String) -> [String] {
            entries.filter { $0.section == "Service" && $0.key == key }.map(\.value)
        }
        let execStart = values("ExecStart")
        try #require(execStart.count == 1, "\(file): expected one ExecStart in [Service], found \(execStart)")
        #expect(execStart[0].contains(command), "\(file): ExecStart=\(execStart[0])")
        #expect(execStart[0].contains("--keys"), "\(file): the service should use CURVE keys")
        #expect(!execStart[0].contains("--insecure"))
        #expect(values("Restart") == ["on-failure"], "\(file): Restart=\(values("Restart"))")
        #expect(values("KillSignal") == ["SIGTERM"])
        #expect(!values("TimeoutStopSec").isEmpty)
        let user = values("User")
        #expect(user.count == 1 && user != ["root"], "\(file): User=\(user)")
        #expect(values("NoNewPrivileges") == ["yes"] || values("NoNewPrivileges") == ["true"])
        #expect(values("ProtectSystem") == ["strict"])
        #expect(values("StateDirectory") == ["duet"])
        #expect(values("ReadWritePaths").contains { $0.contains("/var/lib/duet") })
        #expect(entries.contains { $0.section == "Install" && $0.key == "WantedBy" }, "\(file): no [Install] WantedBy")
    }

    @Test("the coordinator unit keeps its journal in the state directory; the worker unit connects to the instance")
    func systemdDetails() throws {
        let coordinator = try DeployFiles.unitEntries("deploy/systemd/duet-coordinator.service")
        let coordinatorStart = coordinator.first { $0.key == "ExecStart" }?.value ?? ""
        #expect(coordinatorStart.contains("--journal /var/lib/duet/duet.sqlite"), "ExecStart=\(coordinatorStart)")
        #expect(coordinatorStart.contains("--bind tcp://*:5555"), "ExecStart=\(coordinatorStart)")
        let worker = try DeployFiles.unitEntries("deploy/systemd/duet-worker@.service")
        let workerStart = worker.first { $0.key == "ExecStart" }?.value ?? ""
        #expect(workerStart.contains("--coordinator tcp://%i:"), "ExecStart=\(workerStart)")
    }

    @Test("the README covers each way to deploy, the key layout and the port")
    func readme() throws {
        let text = try DeployFiles.text("deploy/README.md")
        for phrase in ["docker build -f deploy/docker/Dockerfile -t duet:latest .", "kubectl apply -k",
                       "kubectl scale", "duet status", "sbatch", "systemctl enable", "duet keys generate",
                       "allowed/", "5555"] {
            #expect(text.contains(phrase), "deploy/README.md does not mention \(phrase)")
        }
    }
}
