// App's typed commands (tools/play/commands.h says what each line means): what /join,
// /device, /program, /record, /metronome and the others do to the client. Part of App (app.h):
// the same owner thread, the same state.
#include <cctype>
#include <string>

#include "tools/client/token_refresher.h"
#include "tools/play/app.h"
#include "tools/play/commands.h"

namespace tutti::play {

void App::ToggleRecording(int64_t now) {
  if (!recorder_.recording()) {
    recorder_.Start(now);
    record_path_.clear();
    view_.Notice("recording what the room plays (/record again saves it)");
    return;
  }
  std::string path = record_path_;
  if (path.empty()) {
    std::string room = view_.room().empty() ? "room" : view_.room();
    for (char& c : room) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
    }
    path = o_.record_dir + "/tutti-" + room + "-" +
           std::to_string(client::WallClockUnixMs() / 1000) + ".mid";
  }
  const absl::Status s = recorder_.StopAndSave(path);
  if (s.ok()) {
    view_.Notice("saved " + std::to_string(recorder_.events()) + " events to " + path +
                 (recorder_.dropped() ? " (" + std::to_string(recorder_.dropped()) +
                                            " past the limit were not kept)"
                                      : ""));
  } else {
    view_.Error(std::string(s.message()));
  }
}

void App::ListDevices() {
  view_.Notice("MIDI inputs (" + devices_->api_name() + "; /device N):");
  const auto inputs = devices_->Inputs();
  for (size_t i = 0; i < inputs.size(); ++i) {
    view_.Notice("  " + std::to_string(i + 1) + ". " + inputs[i] +
                 (inputs[i] == keyboard_->port() ? "  <- playing" : ""));
  }
  if (inputs.empty()) view_.Notice("  (none)");
  view_.Notice("MIDI outputs (/output N, or /output synth):");
  const auto outputs = devices_->Outputs();
  for (size_t i = 0; i < outputs.size(); ++i) {
    view_.Notice("  " + std::to_string(i + 1) + ". " + outputs[i] +
                 (outputs[i] == external_->port() ? "  <- sounding" : ""));
  }
  if (outputs.empty()) view_.Notice("  (none)");
}

uint64_t App::PlayerFor(const std::string& who) {
  if (who == "me" || who == view_.me()) return Sound::kLocal;
  const uint64_t sid = view_.FindPlayer(who);
  if (sid == view_.my_session()) return Sound::kLocal;
  return sid == 0 ? UINT64_MAX : sid;
}

void App::HandleLine(const std::string& line, int64_t now) {
  const Command c = ParseCommand(line);
  switch (c.kind) {
    case Command::Kind::kNothing:
      return;
    case Command::Kind::kChat:
      if (!connected_) {
        view_.Error("not connected: the line was not sent");
        return;
      } else {
        proto::ServerMessage m;
        m.mutable_room_chat_message()->set_message(c.text);
        client_->Send(std::move(m));
      }
      return;
    case Command::Kind::kHelp:
      for (const auto& h : HelpLines()) view_.Notice(h);
      return;
    case Command::Kind::kRooms:
      view_.Notice(view_.rooms().size() == 1 ? std::string("1 room:")
                                             : std::to_string(view_.rooms().size()) + " rooms:");
      for (const auto& r : view_.rooms()) {
        view_.Notice("  " + r.name + " (" + std::to_string(r.users) + "/" +
                     std::to_string(r.max_users) + ")" + (r.password ? " [password]" : ""));
      }
      return;
    case Command::Kind::kJoin:
    case Command::Kind::kLobby:
      if (!connected_) {
        view_.Error("not connected");
        return;
      }
      Join(c.kind == Command::Kind::kJoin ? c.arg : "");
      return;
    case Command::Kind::kDevices:
      ListDevices();
      return;
    case Command::Kind::kDevice: {
      const absl::Status s = keyboard_->Choose(c.arg);
      if (s.ok()) {
        view_.Notice(keyboard_->state() == KeyboardInput::State::kOpen
                         ? "playing from " + keyboard_->port()
                         : "no keyboard");
      } else {
        view_.Error(std::string(s.message()));
      }
      if (s.ok() || s.code() == absl::StatusCode::kNotFound) {
        settings_->Set("input", keyboard_->wanted());
      }
      UpdateStatus();
      return;
    }
    case Command::Kind::kOutput:
      ChooseOutput(c.arg);
      settings_->Set("output", c.arg == "synth" ? "synth" : external_->wanted());
      UpdateStatus();
      return;
    case Command::Kind::kProgram:
    case Command::Kind::kVolume: {
      const uint64_t player = PlayerFor(c.arg);
      if (player == UINT64_MAX) {
        view_.Error("no player named " + c.arg + " here");
        return;
      }
      const uint8_t v = static_cast<uint8_t>(c.value);
      // The others' choices are remembered by name: they outlive a reconnect or a resume.
      const std::string name =
          player == Sound::kLocal ? std::string() : view_.players().at(player).name;
      if (c.kind == Command::Kind::kProgram) {
        if (player == Sound::kLocal) {
          sound_->SetProgram(player, v);
        } else {
          choices_.SetProgram(name, player, v, sound_.get());
        }
        view_.Notice(c.arg + " now sounds as GM program " + std::to_string(c.value));
      } else {
        if (player == Sound::kLocal) {
          sound_->SetVolume(player, v);
        } else {
          choices_.SetVolume(name, player, v, sound_.get());
        }
        view_.Notice(c.arg + " volume " + std::to_string(c.value));
      }
      return;
    }
    case Command::Kind::kRecord:
      ToggleRecording(now);
      return;
    case Command::Kind::kMetronome:
      clicks_.set_enabled(c.arg.empty() ? !clicks_.enabled() : c.arg == "on");
      view_.Notice(std::string("metronome ") + (clicks_.enabled() ? "on" : "off") +
                   (clicks_.enabled() && !clicks_.has_grid() ? " (it clicks once in a room)"
                    : clicks_.enabled() && !clicks_.grid().running
                        ? " (the room's transport is stopped: /tempo start)"
                        : ""));
      return;
    case Command::Kind::kQuit:
      quit_ = true;
      return;
    case Command::Kind::kInvalid:
      view_.Error(c.text);
      return;
  }
}

}  // namespace tutti::play
