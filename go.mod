module gosupervisor

go 1.26.0

require (
	github.com/creack/pty v1.1.24
	github.com/kolo/xmlrpc v0.0.0-20220921171641-a4b6fa1dd06b
	github.com/sirupsen/logrus v1.10.2
	golang.org/x/sys v0.50.0
)
