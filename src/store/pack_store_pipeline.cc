// PackContentStore's hand-off between the owner's thread and the workers:
// chunk pool and backpressure, dedup claims, index questions, outcomes.
// See pack_content_store.h for the rules; pack_object_job.h for the jobs.
#include "src/store/pack_content_store.h"

#include <fcntl.h>

#include "src/store/pack_object_job.h"

namespace mailark::store {

char* PackContentStore::takeChunk() { return buffers_.take(kChunkSize); }

void PackContentStore::returnChunk(char* chunk, bool posted) {
  buffers_.give(chunk, kChunkSize);
  if (!posted) return;
  std::lock_guard<std::mutex> lock(mu_);
  --chunks_in_flight_;
  wakeOwner();
}

void PackContentStore::postChunk(const PackObjectJobPtr& job, char* chunk, size_t n, bool last, bool whole) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (chunks_in_flight_ >= kMaxChunksInFlight || (last && unfinished_ >= kMaxUnfinished))
      ownerWait(lock, last ? OwnerWait::Backlog : OwnerWait::Chunks);
    ++chunks_in_flight_;
    if (last) ++unfinished_;
  }
  bool here = false;
  if (last && whole) {
    if (options_.small_object_group > 0) {
      job->joinStrand(groupStrand());
    } else {
      here = options_.inline_small_objects;
    }
  }
  pool_->post(job->strand(), [job, chunk, n, last] { job->onChunk(chunk, n, last); }, here);
  // Index questions raised meanwhile are answered here, so a steady stream
  // of messages keeps the workers fed without a trip through the loop.
  if (last) pollLookups();
}

const StrandPtr& PackContentStore::groupStrand() {
  if (!group_strand_ || ++group_members_ >= options_.small_object_group) {
    group_strand_ = std::make_shared<Strand>();
    group_members_ = 0;
  }
  return group_strand_;
}

void PackContentStore::postAbort(const PackObjectJobPtr& job) {
  pool_->post(job->strand(), [job] { job->onAbort(); });
}

Status PackContentStore::earlyError(const PackObjectJob& job) {
  // Checked on every append: skip the lock in the usual case.
  if (!job.failed_early.load(std::memory_order_acquire)) return Status::ok();
  std::lock_guard<std::mutex> lock(mu_);
  return job.early_error;
}

Result<ObjectId> PackContentStore::waitFor(const PackObjectJob& job) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!job.outcome.has_value()) ownerWait(lock);
  return *job.outcome;
}

void PackContentStore::wakeOwner() {
  // A wake-up per finished object costs about as much CPU as a small
  // object's work, so the owner is woken only when what it waits for is
  // there, or when it is all that holds the work up: index questions pile
  // up, or every unfinished job waits for an answer (directly or through
  // a claim) that only the owner can give.
  const bool owner_needed = lookups_.size() >= kLookupBatch ||
                            (unfinished_ > 0 && unfinished_ <= static_cast<int>(lookups_.size()) + claim_waiters_);
  bool wake = owner_needed;
  switch (owner_waits_for_) {
    case OwnerWait::Nothing:
      return;
    case OwnerWait::Progress:
      wake = true;
      break;
    case OwnerWait::Chunks:
      wake = wake || chunks_in_flight_ <= kMaxChunksInFlight / 2;
      break;
    case OwnerWait::Backlog:
      wake = wake || (chunks_in_flight_ <= kMaxChunksInFlight / 2 && unfinished_ <= kMaxUnfinished / 2);
      break;
    case OwnerWait::AllDone:
      wake = wake || unfinished_ == 0;
      break;
  }
  if (wake) owner_cv_.notify_one();
}

void PackContentStore::ownerWait(std::unique_lock<std::mutex>& lock, OwnerWait what) {
  if (!lookups_.empty()) return answerLookups(lock);
  owner_waits_for_ = what;
  owner_cv_.wait(lock);
  owner_waits_for_ = OwnerWait::Nothing;
}

void PackContentStore::answerLookups(std::unique_lock<std::mutex>& lock) {
  std::vector<PackObjectJobPtr> jobs;
  jobs.swap(lookups_);
  lookups_queued_.store(false, std::memory_order_relaxed);
  lock.unlock();
  for (PackObjectJobPtr& job : jobs) {
    Result<std::optional<ObjectLocation>> found = index_->findObject(job->id());
    Status error = found.isOk() ? Status::ok() : found.status();
    bool has = found.isOk() && found->has_value();
    pool_->post(job->strand(), [job, error, has] { job->onIndexAnswer(error, has); });
  }
  lock.lock();
}

void PackContentStore::pollLookups() {
  // Called once per object: skip the lock when nothing is queued.
  if (!lookups_queued_.load(std::memory_order_acquire)) return;
  std::unique_lock<std::mutex> lock(mu_);
  if (!lookups_.empty()) answerLookups(lock);
}

PackContentStore::Claim PackContentStore::claim(const PackObjectJobPtr& job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.count(job->id()) != 0) return Claim::Stored;
  auto [it, fresh] = claims_.try_emplace(job->id());
  if (fresh) return Claim::Claimed;
  it->second.push_back(job);
  ++claim_waiters_;
  wakeOwner();  // this may leave only jobs that wait for the owner
  return Claim::Wait;
}

void PackContentStore::lookUp(const PackObjectJobPtr& job) {
  if (pool_->threads() == 0 || std::this_thread::get_id() == owner_) {
    // Inline: this is the owner's thread, inside the job's own task.
    Result<std::optional<ObjectLocation>> found = index_->findObject(job->id());
    job->onIndexAnswer(found.isOk() ? Status::ok() : found.status(), found.isOk() && found->has_value());
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  lookups_.push_back(job);
  lookups_queued_.store(true, std::memory_order_release);
  wakeOwner();
}

void PackContentStore::published(const PackObjectJobPtr& job, StoredObject object, PackFile* pack) {
  std::vector<PackObjectJobPtr> waiters;
  uint64_t write_back_from = 0, write_back_to = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pack->size = object.where.offset + object.where.length;
    pack->dirty = true;
    if (pack->size - pack->written_back >= kWriteBehind) {
      write_back_from = pack->written_back;
      write_back_to = pack->written_back = pack->size;
    } else {
      pack->busy = false;
    }
    pending_[object.id] = object.where;
    auto it = claims_.find(object.id);
    if (it != claims_.end()) {
      waiters = std::move(it->second);
      claims_.erase(it);
      claim_waiters_ -= static_cast<int>(waiters.size());
    }
    job->outcome = object.id;
    unsynced_.push_back(std::move(object));
    --unfinished_;
    wakeOwner();
  }
  tellWaiters(std::move(waiters), Status::ok());
  if (write_back_to > write_back_from) {
    // Still busy, so sync() cannot close the pack under us. Only a hint:
    // durability comes from sync()'s fdatasync, so errors are ignored.
    ::sync_file_range(pack->fd.get(), static_cast<off_t>(write_back_from),
                      static_cast<off_t>(write_back_to - write_back_from), SYNC_FILE_RANGE_WRITE);
    releasePack(pack);
  }
}

void PackContentStore::unclaim(const PackObjectJobPtr& job, const Status& s) {
  std::vector<PackObjectJobPtr> waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = claims_.find(job->id());
    if (it != claims_.end()) {
      waiters = std::move(it->second);
      claims_.erase(it);
      claim_waiters_ -= static_cast<int>(waiters.size());
    }
  }
  tellWaiters(std::move(waiters), s);
}

void PackContentStore::tellWaiters(std::vector<PackObjectJobPtr> waiters, const Status& s) {
  for (PackObjectJobPtr& w : waiters) pool_->post(w->strand(), [w, s] { w->onWinnerDone(s); });
}

void PackContentStore::jobFailed(PackObjectJob* job, const Status& s) {
  std::lock_guard<std::mutex> lock(mu_);
  job->early_error = s;
  job->failed_early.store(true, std::memory_order_release);
}

void PackContentStore::jobDone(PackObjectJob* job, Result<ObjectId> outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  job->outcome = std::move(outcome);
  --unfinished_;
  wakeOwner();
}

}  // namespace mailark::store
