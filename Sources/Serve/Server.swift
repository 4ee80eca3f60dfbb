import Hummingbird
import Prometheus
import ServiceLifecycle

